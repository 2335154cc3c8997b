// Hostile-input fuzz through the real daemon on PostgreSQL, then conformance on the same database.
import { fuzzSuite } from './fuzz.js';

fuzzSuite('postgres');
