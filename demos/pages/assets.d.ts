// Stylesheets are bundled as text by esbuild (loader '.css': 'text') and put in <style> elements.
declare module '*.css' {
  const text: string;
  export default text;
}
