import pkg from "../package.json" with { type: "json" };

/** Set at build time by `bun build --define`; the package version otherwise. */
export const VERSION: string = pkg.version;
