// Hostile-input fuzz through the real daemon on libSQL, then conformance on the same database.
import { fuzzSuite } from './fuzz.js';

fuzzSuite('libsql');
