import { libsqlBackend } from '../support/databases.js';
import { runConformance } from './suite.js';

runConformance(libsqlBackend());
