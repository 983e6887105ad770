/**
 * The custom elements. Importing this module defines them.
 * @packageDocumentation
 */
export {};
