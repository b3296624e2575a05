"""Live events under stress: writers on two instances and in a third process commit in random
interleavings (transactions held open for random times) while every party's streams drop and
reconnect at random on either instance. At the end each stream holds exactly its party's events,
each once, numbered 1..n without a gap, in the order their transactions committed. Real
processes and sockets, on SQLite (a file) and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select

from deconline.service import events
from deconline.store.models import PartyEvent
from tests.helpers import World, make_world, server_process

PARTIES = ("alpha", "bravo", "charlie")
BUSY = ("alpha", "alpha", "alpha", "bravo", "bravo", "charlie")  # charlie is the quiet one
MIN_CONNECTIONS = 4  # a reader hangs up and comes back at least this often, however fast the writers end


@dataclass
class Commit:
    """One transaction of the in-process writers: its events' keys and when its commit ran."""

    keys: list[tuple[str, str]]  # (party, key)
    started: float = 0.0
    ended: float = 0.0


@dataclass
class Reader:
    party: str
    received: list[tuple[str, str, str]] = field(default_factory=list)  # (id, event, data)
    connections: int = 0

    @property
    def last_id(self) -> str:
        return self.received[-1][0] if self.received else f"{self.party}:0"


def _write_in_process(world: World, name: str, rounds: int, commits: list[Commit]) -> None:
    """Transactions of 1-3 events for random parties, each held open a random while before it commits."""
    rng = random.Random(name)
    for n in range(rounds):
        commit = Commit([(rng.choice(BUSY), f"{name}-{n}-{i}") for i in range(rng.randint(1, 3))])
        with world.line.db.write() as session:
            for party, key in commit.keys:
                events.emit(world.line.events, session, time.time(), party, {"type": "test", "key": key})
            time.sleep(rng.uniform(0, 0.02))
            commit.started = time.monotonic()  # the commit (and the numbering) runs as the block ends
        commit.ended = time.monotonic()
        commits.append(commit)
        time.sleep(rng.uniform(0, 0.005))


def _post_messages(world: World, urls: list[str], count: int, failures: list[str]) -> None:
    """Hotline messages sent alternately through both instances (each raises events for its parties)."""
    rng = random.Random("api")
    for n in range(count):
        sender, recipient = rng.sample(["alpha", "bravo"], 2) if n % 4 else ("alpha", "charlie")
        body = {"recipients": [recipient], "kind": "notice", "text": f"note {n}", "requires_ack": False}
        request = world.signed_request(sender, "POST", "/v1/messages", body)
        response = httpx.post(f"{urls[n % 2]}/v1/messages", timeout=30, **request)
        if response.status_code != 201:
            failures.append(f"{response.status_code} {response.text}")


def _read(reader: Reader, urls: list[str], token: str, enough: dict[str, int], stop: threading.Event) -> None:
    """Connect to a random instance from the last id received, hang up after a random while, again."""
    rng = random.Random(reader.party + str(id(reader)))
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = stop.is_set() and len(reader.received) >= enough.get(reader.party, 1 << 60)
        if done and reader.connections >= MIN_CONNECTIONS:
            return
        hang_up = time.monotonic() + rng.uniform(0.02, 0.3)
        reader.connections += 1
        frame: dict[str, str] = {}
        try:
            with httpx.stream(
                "GET",
                f"{rng.choice(urls)}/v1/events",
                headers={**headers, "Last-Event-ID": reader.last_id},
                timeout=httpx.Timeout(30, read=rng.uniform(0.05, 0.3)),
            ) as response:
                assert response.status_code == 200, response.read()
                for line in response.iter_lines():
                    if line.startswith(("id:", "event:", "data:")):
                        name, _, value = line.partition(":")
                        frame[name] = value.strip()
                    elif not line and "data" in frame:
                        reader.received.append((frame["id"], frame["event"], frame["data"]))
                        frame = {}
                    if time.monotonic() > hang_up:
                        break
        except httpx.ReadTimeout:
            pass


def _stored(world: World) -> dict[str, list[tuple[int, str]]]:
    """Every party's stored events, (seq, data) in number order."""
    with world.line.db.read() as session:
        rows = session.execute(select(PartyEvent.party_id, PartyEvent.seq, PartyEvent.data).order_by(PartyEvent.seq))
        stored: dict[str, list[tuple[int, str]]] = {party: [] for party in PARTIES}
        for party, seq, data in rows:
            stored[party].append((seq, data))
    return stored


def _check_commit_order(commits: list[Commit], numbers: dict[tuple[str, str], int]) -> None:
    """A transaction whose commit ended before another's began has the lower numbers, party by party."""
    for first, second in itertools.permutations(commits, 2):
        if first.ended >= second.started:
            continue
        for party in {p for p, _ in first.keys} & {p for p, _ in second.keys}:
            before = max(numbers[k] for k in first.keys if k[0] == party)
            after = min(numbers[k] for k in second.keys if k[0] == party)
            assert before < after, (party, first.keys, second.keys)


def test_streams_get_every_event_once_in_commit_order(db_url: str) -> None:
    world = make_world(db_url)
    with server_process(db_url) as (first, _), server_process(db_url) as (second, _):
        urls = [first, second]
        readers = [Reader(party) for party in PARTIES for _ in range(2)]
        enough: dict[str, int] = {}
        stop = threading.Event()
        reading = [threading.Thread(target=_read, args=(r, urls, world.tokens[r.party], enough, stop)) for r in readers]
        for thread in reading:
            thread.start()
        commits: list[Commit] = []
        failures: list[str] = []
        writing = [threading.Thread(target=_write_in_process, args=(world, f"w{i}", 40, commits)) for i in range(3)] + [
            threading.Thread(target=_post_messages, args=(world, urls, 30, failures))
        ]
        for thread in writing:
            thread.start()
        for thread in writing:
            thread.join()
        assert not failures, failures[:3]

        stored = _stored(world)
        enough.update({party: len(rows) for party, rows in stored.items()})
        stop.set()
        for thread in reading:
            thread.join()

    for party, rows in stored.items():
        assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1)), f"{party}'s numbers have a gap"
    assert len(stored["charlie"]) < len(stored["alpha"]) / 2  # one busy, one quiet party: each 1..n
    for reader in readers:
        assert reader.connections >= MIN_CONNECTIONS, "the stream was meant to reconnect many times"
        assert [event for _, event, _ in reader.received if event in ("resync", "ready")] == []
        expected = [(events.stream_id(reader.party, seq), data) for seq, data in stored[reader.party]]
        assert [(i, data) for i, _, data in reader.received] == expected

    numbers = {}
    for party, rows in stored.items():
        for seq, data in rows:
            payload = json.loads(data)
            if payload["type"] == "test":
                numbers[(party, payload["key"])] = seq
    assert len(numbers) == sum(len(c.keys) for c in commits)
    _check_commit_order(commits, numbers)
