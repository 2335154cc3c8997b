// Every RPC through the real daemon on libsql.
import { rpcSuite } from './rpcs.js';

rpcSuite('libsql');
