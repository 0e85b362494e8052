// as-pect configuration for the firmware's unit tests (run by `npm run test:firmware`).
// The compiler options for the test builds are in as-pect.asconfig.json beside this file,
// which is where the as-pect CLI looks for them.
module.exports = {
  /** Each spec file is compiled and run as its own module. */
  entries: ["tests/assembly/**/*.spec.ts"],
  /** Files added to every test compilation. */
  include: ["tests/assembly/**/*.include.ts"],
  /** Source files never treated as tests. */
  disclude: [/node_modules/],
  /**
   * Any function a spec imports that as-pect does not provide (a HAL call reached through
   * the code under test, say) gets a stub that throws when called, so a spec that never
   * calls it still instantiates, and one that does fails with the import's name.
   */
  async instantiate(memory, createImports, instantiate, binary) {
    const imports = createImports({ env: { memory } });
    for (const imp of WebAssembly.Module.imports(new WebAssembly.Module(binary))) {
      if (imp.kind !== "function") continue;
      const mod = (imports[imp.module] ??= {});
      if (mod[imp.name] === undefined) {
        mod[imp.name] = () => {
          throw new Error(`unexpected call to import ${imp.module}.${imp.name} in a unit test`);
        };
      }
    }
    return instantiate(binary, imports);
  },
  outputBinary: false,
};
