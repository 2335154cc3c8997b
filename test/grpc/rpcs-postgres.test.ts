// Every RPC through the real daemon on postgres.
import { rpcSuite } from './rpcs.js';

rpcSuite('postgres');
