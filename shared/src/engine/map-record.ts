export type { MapRecord } from '../model/hot-state.js';
