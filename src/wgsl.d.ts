// .wgsl files are bundled as text by esbuild (loader '.wgsl': 'text').
declare module '*.wgsl' {
  const source: string;
  export default source;
}

// The package's "main" build is CommonJS inside a "type": "module" package, which Node cannot
// load; its ES module build is imported by path, with the package's own types.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
