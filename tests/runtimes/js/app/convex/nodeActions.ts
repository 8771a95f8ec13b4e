"use node";
import { createHash } from "node:crypto";
import { hostname } from "os";
import { v } from "convex/values";
import { action } from "./_generated/server";

export const sha = action({
  args: { text: v.string() },
  handler: async (_ctx, { text }) => ({
    sha: createHash("sha256").update(text).digest("hex"),
    host: typeof hostname(),
  }),
});
