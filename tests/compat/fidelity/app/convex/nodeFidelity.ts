"use node";
import fs from "node:fs";
import { action } from "./_generated/server";

// What the `debug` package (under axios, postmark and many SDKs) does when it loads.
delete process.env.DEBUG;
process.env.FIDELITY_SET_AT_IMPORT = "yes";

export const yikes = action({
  args: {},
  handler: async () => {
    await new Promise(() => {
      fs.exists("x", () => {
        throw new Error("Yikes");
      });
    });
  },
});

export const fine = action({ args: {}, handler: async () => "still serving" });

export const environment = action({
  args: {},
  handler: async () => {
    delete process.env.DEBUG;
    process.env.FIDELITY_WRITTEN = "written";
    return {
      written: process.env.FIDELITY_WRITTEN ?? null,
      dirname: typeof __dirname,
      filename: typeof __filename,
      cloudUrl: process.env.CONVEX_CLOUD_URL ?? null,
      siteUrl: process.env.CONVEX_SITE_URL ?? null,
    };
  },
});

export const timers = action({
  args: {},
  handler: async () => {
    console.time("t");
    console.timeLog("t", "extra");
    console.timeEnd("t");
    console.timeLog("t");
    return null;
  },
});

export const sleepy = action({
  args: {},
  handler: async () => {
    await new Promise((resolve) => setTimeout(resolve, 30_000));
  },
});
