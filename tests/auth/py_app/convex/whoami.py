from bayou import ConvexError, UserIdentity, action, query


@query(args={})
def me(ctx):
    return ctx.auth.get_user_identity()


@query(args={})
def profile(ctx):
    """The typed UserIdentity: standard fields as attributes, other claims by name."""
    identity = ctx.auth.get_user_identity()
    if identity is None:
        raise ConvexError("Not signed in")
    return {
        "is_user_identity": isinstance(identity, UserIdentity),
        "token_identifier": identity.token_identifier,
        "subject": identity.subject,
        "issuer": identity.issuer,
        "email": identity.email,
        "email_verified": identity.email_verified,
        "given_name": identity.given_name,
        "nickname": identity.nickname,
        "role": identity["role"],
        "has_missing": "missing" in identity,
    }


@action(args={})
async def from_action(ctx):
    identity = await ctx.auth.get_user_identity()
    return {"action": identity, "query": await ctx.run_query("whoami:me", {})}
