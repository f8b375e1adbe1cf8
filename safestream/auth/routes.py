"""/auth/register, /auth/login (OAuth2 password form) and /auth/me."""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from safestream.api.docs import documented
from safestream.api.validation import read_form, read_json
from safestream.app_keys import (
    PASSWORDS_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    THROTTLES_KEY,
    TOKENS_KEY,
)
from safestream.auth.guard import authenticate, verify_login
from safestream.chat.payloads import iso
from safestream.errors import Conflict, InvalidPayload, Unauthorized
from safestream.storage import users

USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,50}$")
RESERVED = frozenset({"bot", "system", "server", "safestream", "anonymous"})
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")


class RegisterIn(BaseModel):
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=6, max_length=128)
    email: str = Field(default="", max_length=254)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not USERNAME_RE.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-'")
        if value.lower() in RESERVED:
            raise ValueError("this name is reserved")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not EMAIL_RE.match(value):
            raise ValueError("not an email address")
        return value


class LoginForm(BaseModel):
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=128)
    grant_type: str | None = None


@documented("Create a viewer account", body=RegisterIn, tag="auth",
            responses={201: "created", 409: "username taken", 422: "invalid fields"})
async def register(request: web.Request) -> web.Response:
    request.app[THROTTLES_KEY].check_register(request)
    body = await read_json(request, RegisterIn)
    max_len = request.app[SETTINGS_KEY].max_username_length
    if len(body.username) > max_len:
        raise InvalidPayload("the request body is invalid",
                             fields=[{"field": "username", "message": f"at most {max_len} characters"}])
    sessions = request.app[SESSIONS_KEY]
    if await users.get_user(sessions, username=body.username) is not None:
        raise Conflict("username is taken", code="username_taken")
    password_hash = await request.app[PASSWORDS_KEY].hash(body.password)
    user = await users.create_user(sessions, username=body.username, password_hash=password_hash,
                                   email=body.email)
    return web.json_response({"username": user.username, "email": user.email, "role": user.role},
                             status=201)


@documented("Log in with the OAuth2 password form; returns a bearer token", form=LoginForm, tag="auth",
            responses={200: "a token", 401: "wrong username or password"})
async def login(request: web.Request) -> web.Response:
    form = await read_form(request, LoginForm)
    throttles = request.app[THROTTLES_KEY]
    throttles.check_login(request, form.username)
    principal = await verify_login(request.app, form.username, form.password)
    if principal is None:
        throttles.login_failed(form.username)
        # One message for "no such user" and "wrong password": no user enumeration.
        raise Unauthorized("wrong username or password", code="invalid_credentials")
    tokens = request.app[TOKENS_KEY]
    token = tokens.issue(username=principal.username, role=principal.role.value)
    return web.json_response({"access_token": token, "token_type": "bearer",
                              "expires_in": tokens.expire_seconds})


@documented("Who the bearer token belongs to", auth="bearer", tag="auth",
            responses={200: "the user", 401: "missing or invalid token"})
async def me(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    user = await users.get_user(request.app[SESSIONS_KEY], username=principal.username)
    if user is None:
        raise Unauthorized("invalid or expired token")
    return web.json_response({"username": user.username, "email": user.email, "role": user.role,
                              "created_at": iso(user.created_at)})


def setup(app: web.Application) -> None:
    app.router.add_post("/auth/register", register)
    app.router.add_post("/auth/login", login)
    app.router.add_get("/auth/me", me)
