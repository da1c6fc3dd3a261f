"""Which flows exist, by id and version. Old versions stay registered so a session started on
version 1 still steps after version 2 ships (the session stores flow_id + flow_version)."""

from __future__ import annotations

from collections.abc import Iterable

from flows.builtin import BUILTIN_FLOWS
from flows.model import Flow


class Registry:
    def __init__(self, flows: Iterable[Flow] = ()) -> None:
        self._flows: dict[tuple[str, int], Flow] = {}
        for flow in flows:
            self.register(flow)

    def register(self, flow: Flow) -> None:
        key = (flow.id, flow.version)
        if key in self._flows and self._flows[key] != flow:
            raise ValueError(f"{flow.id} v{flow.version} already registered with other content: "
                             "ship a new version instead of editing a shipped one")
        self._flows[key] = flow

    def get(self, flow_id: str, version: int) -> Flow:
        try:
            return self._flows[(flow_id, version)]
        except KeyError:
            raise KeyError(f"no flow {flow_id!r} version {version}") from None

    def latest(self, flow_id: str) -> Flow:
        versions = [f for (fid, _), f in self._flows.items() if fid == flow_id]
        if not versions:
            raise KeyError(f"no flow {flow_id!r}")
        return max(versions, key=lambda f: f.version)

    def all_flows(self) -> list[Flow]:
        """The latest version of every flow, in registration order."""
        seen: dict[str, Flow] = {}
        for flow in self._flows.values():
            if flow.id not in seen or flow.version > seen[flow.id].version:
                seen[flow.id] = flow
        return list(seen.values())

    def all_versions(self) -> list[Flow]:
        return list(self._flows.values())


REGISTRY = Registry(BUILTIN_FLOWS)


def get(flow_id: str, version: int) -> Flow:
    return REGISTRY.get(flow_id, version)


def latest(flow_id: str) -> Flow:
    return REGISTRY.latest(flow_id)


def all_flows() -> list[Flow]:
    return REGISTRY.all_flows()
