import { postgresBackend } from '../support/databases.js';
import { runConformance } from './suite.js';

runConformance(postgresBackend());
