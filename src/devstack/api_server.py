"""The HTTP API on the local stack: the Chalice app served in process on a loopback port.

`ensure_api(stack)` provisions the local identities (Cognito pool in moto, channel keys, the
WhatsApp app secret), points the API at them through the same variables AWS sets, and serves
`functions/api/app.py` with `chalice.local.LocalDevServer` in a thread, beside moto. The state
a developer needs to call it (URLs, pool, keys) can be written to `build/local-stack.json`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import faults
from devstack.identity import LocalIdentity, local_password, provision
from devstack.stack import ROOT, LocalStack, free_port

API_DIR = ROOT / "functions" / "api"
STATE_FILE = ROOT / "build" / "local-stack.json"
CONSOLE_ORIGIN = "http://127.0.0.1:5173"
WHATSAPP = {
    "VD_WHATSAPP_APP_SECRET": "local-whatsapp-app-secret",
    "VD_WHATSAPP_VERIFY_TOKEN": "local-whatsapp-verify-token",
    "VD_WHATSAPP_ACCESS_TOKEN": "local-whatsapp-access-token",
}


def load_app() -> Any:
    """The Chalice app object of `functions/api/app.py` (its `chalicelib` on sys.path)."""
    if str(API_DIR) not in sys.path:
        sys.path.insert(0, str(API_DIR))
    name = "vd_functions_api"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, API_DIR / "app.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {API_DIR / 'app.py'}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module.app


def console_environment(identity: LocalIdentity, functions: dict[str, str]) -> dict[str, str]:
    """The console's local sign-in (the development users of moto's pool), a fresh CSRF key, and
    what its local-only customer page needs: the channel keys and Instalaciones' key."""
    users = {name: {"role": role, "password": local_password(name)} for name, role in identity.users.items()}
    return {
        "VD_CONSOLE_SIGNIN": "local",
        "VD_CONSOLE_SECRET": secrets.token_urlsafe(32),
        "VD_CONSOLE_IDP_ENDPOINT": identity.endpoint,
        "VD_CONSOLE_POOL_ID": identity.pool_id,
        "VD_CONSOLE_CLIENT_ID": identity.client_id,
        "VD_CONSOLE_DEV_USERS": json.dumps(users),
        # The local customer page posts leads as the IVR and the web page do (their local keys).
        "VD_CONSOLE_LOCAL_CHANNEL_KEYS": json.dumps({s: identity.api_keys[s] for s in ("ivr", "web")}),
        # ... and reports installations as Instalaciones does (its own key, the installation-events route).
        "VD_CONSOLE_LOCAL_INSTALLATIONS_KEY": identity.backoffice_keys["installations"],
    }


def refresh_console_users(identity: LocalIdentity) -> None:
    """List every user the pool has now (the simulated day adds agents) on the sign-in page."""
    users = {name: {"role": role, "password": local_password(name)} for name, role in identity.users.items()}
    os.environ["VD_CONSOLE_DEV_USERS"] = json.dumps(users)
    from chalicelib import console_http

    console_http.console_settings.cache_clear()


def configure_api(environment: dict[str, str]) -> None:
    """Set the API's variables and forget what it cached from earlier ones."""
    os.environ.update(environment)
    load_app()
    from chalicelib import http

    from ventas.adapters import whatsapp

    http.api_settings.cache_clear()
    http.use_authenticator(None)
    from chalicelib import console_auth, console_http

    console_http.console_settings.cache_clear()
    console_auth._idp.cache_clear()
    whatsapp.reset_credentials()


@dataclass
class LocalApi:
    url: str
    identity: LocalIdentity
    stack: LocalStack | None = None
    whatsapp_secret: str = WHATSAPP["VD_WHATSAPP_APP_SECRET"]
    verify_token: str = WHATSAPP["VD_WHATSAPP_VERIFY_TOKEN"]
    functions: dict[str, str] = field(default_factory=dict)
    _server: Any = None
    _thread: threading.Thread | None = None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def state(self) -> dict[str, Any]:
        return {
            "api_url": self.url,
            "identity": self.identity.to_dict(),
            "whatsapp_secret": self.whatsapp_secret,
            "verify_token": self.verify_token,
            "functions": dict(self.functions),
            "console_origin": CONSOLE_ORIGIN,
        }

    def write_state(self, path: Path = STATE_FILE) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2), encoding="utf-8")
        tmp.replace(path)  # readers never see half a file
        return path

    @classmethod
    def from_state(cls, path: Path = STATE_FILE) -> LocalApi:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            url=data["api_url"],
            identity=LocalIdentity.from_dict(data["identity"]),
            whatsapp_secret=data["whatsapp_secret"],
            verify_token=data["verify_token"],
            functions=dict(data["functions"]),
        )


_running: dict[int, LocalApi] = {}
_lock = threading.Lock()


def ensure_api(stack: LocalStack, port: int = 0) -> LocalApi:
    """Serve the API for `stack` (once per stack) and return how to reach it."""
    with _lock:
        api = _running.get(id(stack))
        if api is None:
            api = _start(stack, port)
            _running[id(stack)] = api
        return api


def _start(stack: LocalStack, port: int) -> LocalApi:
    from chalice.config import Config
    from chalice.local import ChaliceRequestHandler, LocalDevServer, ThreadedHTTPServer

    from ventas.adapters.whatsapp import LocalMediaSource
    from ventas.web.errors import FRAMEWORK, ApiError

    identity = provision(stack.endpoint)
    configure_api(
        {
            **identity.environment(),
            **WHATSAPP,
            **console_environment(identity, stack.functions),
            "VD_CONSOLE_ORIGIN": CONSOLE_ORIGIN,
        }
    )
    stack.deps.media = LocalMediaSource()  # customers' media without Meta

    class QuietHandler(ChaliceRequestHandler):
        # TCP_NODELAY: without it each answer stalls ~40 ms (Nagle's algorithm against the
        # client's delayed ACK), a floor that would hide every route's real cost.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _dispatch(self) -> None:
            # Development only: fault injection from outside the process (devstack.faults).
            if self.path.split("?", 1)[0] != faults.PATH:
                ChaliceRequestHandler._generic_handle(self)
                return
            headers, raw = self._parse_payload()
            status, answer = faults.handle(stack.faults, self.command, headers, raw)
            self._send_http_response(status, {"Content-Type": "application/json"}, json.dumps(answer))

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

        def _send_error_response(self, error: Any) -> None:
            # An unknown route: the API's error shape, as the gateway responses do in AWS.
            if error.CODE != 403:
                super()._send_error_response(error)
                return
            body = json.dumps(ApiError(404, *FRAMEWORK[404]).body(), ensure_ascii=False).encode()
            self._send_http_response(404, {"Content-Type": "application/json"}, body)

    class Server(ThreadedHTTPServer):
        request_queue_size = 256  # socketserver's default of 5 refuses bursts of clients
        daemon_threads = True

    app = load_app()
    port = port or free_port()
    server = LocalDevServer(
        app, Config.create(chalice_app=app), "127.0.0.1", port, handler_cls=QuietHandler, server_cls=Server
    )
    thread = threading.Thread(target=server.server.serve_forever, name="vd-api", daemon=True)
    thread.start()
    return LocalApi(
        url=f"http://127.0.0.1:{port}",
        identity=identity,
        stack=stack,
        functions=dict(stack.functions),
        _server=server.server,
        _thread=thread,
    )


def stop_api(stack: LocalStack) -> None:
    with _lock:
        api = _running.pop(id(stack), None)
    if api is not None:
        api.stop()
