import { query } from "./_generated/server";

export const all = query({
  args: {},
  handler: async (ctx) => await ctx.db.query("things").collect(),
});

// Running a function at import time reaches the database before any request exists.
export const preloaded = await (all as any).invokeQuery("[{}]");
