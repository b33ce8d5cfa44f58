export { compileSeccomp } from './compile.js';
export type { DebugLog, SeccompProgram } from './compile.js';
export { libseccompVersion, seccompFeatures } from './features.js';
export type { SeccompFeatures } from './features.js';
