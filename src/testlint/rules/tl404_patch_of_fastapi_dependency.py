from __future__ import annotations

from testlint.rules._patching import PatchRule, PatchTarget

HTTP_CLIENTS = ("TestClient", "AsyncClient", "ASGITransport")


class PatchOfFastapiDependency(PatchRule):
    """
    ## What it does
    Checks for patches of a function that the project passes to FastAPI as a
    dependency — `Depends(fn)` or `Security(fn)` in a route or another
    dependency's signature — when the test (or a conftest above it) imports,
    directly or not, a module that declares such a route, and sends requests
    through a test client (`TestClient`, `httpx.AsyncClient`, `ASGITransport`).
    The target must be the function FastAPI holds: where it is defined, or the
    module that passes it to `Depends`. Patching another module's by-value copy
    is not reported (that module looks it up at call time, and the patch works
    there).

    ## Why is this bad?
    FastAPI stores the function object when the route is declared, at import
    time, and calls that object for every request. Patching the module
    attribute afterwards does not reach it: requests still get the real store or
    client. FastAPI's supported way is `app.dependency_overrides`.

    ## Example
    ```python
    # api/deps.py
    def get_store():
        return Store()
    ```

    ```python
    # api/routes.py
    from fastapi import Depends, FastAPI

    from api.deps import get_store

    app = FastAPI()


    @app.get("/items")
    def items(store=Depends(get_store)):
        return store.all()
    ```

    ```python
    from unittest import mock

    from fastapi.testclient import TestClient

    from api.routes import app


    def test_items():
        with mock.patch("api.deps.get_store"):
            TestClient(app).get("/items")
    ```

    ## Use instead
    ```python
    from api.deps import get_store
    from api.routes import app


    def test_items(client, fake_store):
        app.dependency_overrides[get_store] = lambda: fake_store
        client.get("/items")
    ```

    ## Fix safety
    There is no fix: the override needs the app object and a replacement.

    ## References
    - [FastAPI: testing dependencies with overrides](https://fastapi.tiangolo.com/advanced/testing-dependencies/)
    """

    code = "TL404"
    name = "patch-of-fastapi-dependency"
    summary = "Patch of a function FastAPI captured with `Depends`"

    def check(self, target: PatchTarget) -> None:
        split = self.split(target.target)
        if split is None or target.target != f"{split.module}.{split.attr}":
            return
        # The function object FastAPI holds is the one defined at the target (or the
        # target module itself passes its binding to Depends). Patching another
        # module's by-value copy is a different question (it may well work there).
        in_depends = self.index.is_depends_target(target.target) or (
            self.index.may_use_depends(split.module)
            and (info := self.index.get(split.module)) is not None
            and split.attr in info.depends
        )
        if not in_depends or not self._through_fastapi():
            return
        if not self._reaches_a_route(split.module, split.attr):
            return
        self.report(
            target.node,
            f"The test patches `{target.target}`, a FastAPI dependency (`Depends({split.attr})`): "
            "FastAPI captured the function when the route was declared, so the patch has no "
            f"effect; use `app.dependency_overrides[{split.attr}] = ...`",
            statement=target.statement,
        )

    def _through_fastapi(self) -> bool:
        """The test sends requests through the app (a test client in the file or a
        conftest above it); a test calling the function directly is not affected."""
        texts = (
            self.context.source,
            *self.context.project.conftest_texts(self.context.path.parent),
        )
        return any(client in text for text in texts for client in HTTP_CLIENTS)

    def _reaches_a_route(self, module: str, attr: str) -> bool:
        """The test (or its conftests) imports, directly or not, a module that passes
        the function to `Depends`: the test can exercise those routes."""
        wanted = f"{module}.{attr}"
        for name in self.imported_project_modules():
            info = self.index.get(name)
            if info is not None and any(info.qualify(d) == wanted for d in info.depends):
                return True
            if name == module and info is not None and attr in info.depends:
                return True
        return False
