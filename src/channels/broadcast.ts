// Work in progress: this module is being written.
export {};
