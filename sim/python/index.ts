/**
 * sim/python/: Python environments (the Multi-User Gymnasium contract: `reset`, `step`,
 * `get_state`, `set_state`, optional `render`) run by Pyodide as Concord sims. A separate entry
 * from `sim/index.ts` so that code that never runs Python does not bundle Pyodide.
 */
export { type ActionMapping, discreteActionMapping, type JsonValue } from './actions.ts';
export {
  createPythonSim,
  loadPythonSim,
  type PythonEnvOptions,
  type PythonSim,
  type PythonSimFactory,
  type PythonSimFactoryOptions,
  type PythonSimOptions,
  type PythonSnap,
  type PythonStepResult,
  pythonSimFactory,
} from './adapter.ts';
export {
  type ConcordPyodideOptions,
  loadConcordPyodide,
  PYTHON_HASH_SEED,
  sharedPyodide,
} from './pyodide.ts';
export { checkDrawPrimitives, type DrawPrimitive } from './render.ts';
export {
  isPythonSimSpec,
  PYTHON_SIM_PREFIX,
  type PythonSimSpec,
  parsePythonSimSpec,
  pythonSourceHash,
} from './source.ts';
