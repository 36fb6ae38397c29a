// The few WebAssembly globals the HEIC decoder uses. Node has them, but
// @types/node 20 declares none and the project compiles without the DOM lib.
declare namespace WebAssembly {
  type Imports = Record<string, Record<string, unknown>>
  class Module {
    private constructor ()
  }
  class Instance {
    constructor (module: Module, imports?: Imports)
    readonly exports: Record<string, unknown>
  }
  function compile (bytes: Uint8Array): Promise<Module>
}
