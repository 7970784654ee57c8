// Vite bundles the UI's stylesheet; to the compiler a CSS import is a module with nothing in it.
declare module '*.css';
