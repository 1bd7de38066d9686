// The second entry file of every Stateroom AssemblyScript build (src/build/assemblyscript.ts
// adds it; with plain asc, list it after your own entry file). Only entry files contribute
// WebAssembly exports, and this one contributes exactly the ABI's.
//
// It imports the SDK by its package name on purpose: asc identifies a file by the path it
// was imported through, and the author's file imports `stateroom/assembly`. A relative
// import here would load a second copy of the SDK whose `register()` nobody calls.
export * from "stateroom/assembly/exports";
