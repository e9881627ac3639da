from core.roles import Role, user_roles


def roles(request) -> dict:
    held = user_roles(request.user) if hasattr(request, "user") else set()
    return {"user_roles": {role.value: role in held for role in Role}}
