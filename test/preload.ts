// Loaded before every test file of a run (bunfig.toml [test].preload): hooks here wrap the whole
// run, not one file.
import { afterAll } from "bun:test";
import { removeCompiledBinary } from "./helpers/binary";

afterAll(removeCompiledBinary);
