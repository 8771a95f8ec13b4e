import { query } from "./_generated/server";

export const fine = query({ args: {}, handler: async () => "fine" });
