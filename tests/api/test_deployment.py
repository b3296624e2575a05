"""The production shape: two instances on one PostgreSQL behind a reverse proxy (here a plain
round-robin TCP proxy: any proxy that forwards connections will do), started together on a
database nobody has initialised, so their migrations and first-run settings race."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx

from deconline.service import parties
from deconline.service.line import Line
from deconline.store.db import Database
from tests.conftest import fresh_pg_database
from tests.helpers import box, make_world, server_process


@contextmanager
def round_robin_proxy(backends: list[tuple[str, int]]) -> Iterator[str]:
    """A TCP proxy on a free port sending each new connection to the next backend."""
    turn = itertools.cycle(backends)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        host, backend_port = next(turn)
        try:
            reader, writer = await asyncio.open_connection(host, backend_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))

    async def shutdown() -> None:
        server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.05)  # the closed transports' last callbacks

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(handle, "127.0.0.1", 0), loop).result(10)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_two_instances_behind_a_proxy_start_together_and_serve_as_one() -> None:
    with ExitStack() as stack:
        db_url = stack.enter_context(fresh_pg_database("deconline_deploy"))
        # Both start at once on an empty database: one migrates and makes the settings, the other waits.
        first = stack.enter_context(server_process(db_url))
        second = stack.enter_context(server_process(db_url))
        urls = [first[0], second[0]]
        backends = [("127.0.0.1", int(url.rsplit(":", 1)[1])) for url in urls]
        proxy = stack.enter_context(round_robin_proxy(backends))
        for url in urls:
            assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        line = Line(Database(db_url))
        assert line.db.migrations_pending() == []
        assert parties.initialise(line) is None  # the first-run admin token was made once, by one of them
        line.db.dispose()

        world = make_world(db_url)  # parties and an agreement, on the same database
        world.line.db.dispose()
        filed = []
        for i in range(6):  # a new connection each time: they alternate between the instances
            body = {"volumes": [box(3.0 + i, 44.0, 3.0)]}
            response = httpx.post(
                f"{proxy}/v1/operations", **world.signed_request("alpha", "POST", "/v1/operations", body)
            )
            assert response.status_code == 201, response.text
            filed.append(response.json()["id"])
        for url in [proxy, *urls]:  # every instance, and the proxy, answers with all of them
            listed = httpx.get(f"{url}/v1/operations", headers={"Authorization": f"Bearer {world.tokens['alpha']}"})
            assert {op["id"] for op in listed.json()} == set(filed)
        body = {"volumes": [box(3.0, 44.0, 3.0)]}
        request = world.signed_request("charlie", "POST", "/v1/operations", body)
        assert httpx.post(f"{proxy}/v1/operations", **request).json()["state"] == "proposed"
