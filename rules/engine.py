"""The stateful rules engine: a pure function of readings and an injected clock.

For each (rule, device) the engine keeps a small state machine::

    idle ──condition true──▶ pending ──held ``for``──▶ active ──clear held ``for``──▶ idle
      ▲                        │                        (RaiseAlarm)       (ClearAlarm)
      └──condition false───────┘

A duplicate reading never moves a machine twice, so at-least-once delivery is safe.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from devices.records import Device, Reading
from devices.registry import DeviceRegistry
from rules.actions import Action, ClearAlarm, PostDraft, RaiseAlarm
from rules.schema import Rule, ValueTest
from rules.templates import TemplateRenderer
from social.site import PlaceNode

PlaceLookup = Mapping[str, PlaceNode]


@dataclass(slots=True)
class _State:
    active: bool = False
    pending_since: float | None = None
    pending_value: object = None
    clear_since: float | None = None


@dataclass(frozen=True, slots=True)
class _Binding:
    """A rule applied to one device; tests are pre-resolved so a reading costs a dict lookup."""

    rule: Rule
    device: Device
    raise_point: str
    clear_point: str
    clear_test: ValueTest | None  # None: the raise condition turning false clears
    clear_for: float


def _ancestors(place_id: str, places: PlaceLookup) -> list[PlaceNode]:
    chain: list[PlaceNode] = []
    node = places.get(place_id)
    while node is not None:
        chain.append(node)
        node = places.get(node.parent_id) if node.parent_id else None
    return chain


def applies(rule: Rule, device: Device, places: PlaceLookup) -> bool:
    """Whether ``rule``'s selectors (kind, device, place) pick ``device``."""
    when = rule.when
    if when.kind is not None and when.kind != device.kind:
        return False
    if when.device is not None and when.device != device.id:
        return False
    if when.place is not None and when.place not in {p.id for p in _ancestors(device.place_id,
                                                                              places)}:
        return False
    return any(p.name == when.point for p in device.points)


class RuleEngine:
    def __init__(
        self,
        rules: Iterable[Rule],
        registry: DeviceRegistry,
        places: PlaceLookup,
        renderer: TemplateRenderer | None = None,
    ) -> None:
        self._places = places
        self._renderer = renderer or TemplateRenderer()
        self._registry = registry
        self._by_point: dict[tuple[str, str], list[_Binding]] = defaultdict(list)
        self._bindings: dict[tuple[str, str], _Binding] = {}
        self._states: dict[tuple[str, str], _State] = {}
        for rule in rules:
            clear = rule.clear
            for device in registry:
                if not applies(rule, device, places):
                    continue
                clear_point = (clear.when.point or rule.when.point) if clear else rule.when.point
                binding = _Binding(
                    rule=rule,
                    device=device,
                    raise_point=rule.when.point,
                    clear_point=clear_point,
                    clear_test=clear.when if clear else None,
                    clear_for=clear.for_ if clear else 0.0,
                )
                key = (rule.id, device.id)
                self._bindings[key] = binding
                self._states[key] = _State()
                self._by_point[(device.id, binding.raise_point)].append(binding)
                if clear_point != binding.raise_point:
                    self._by_point[(device.id, clear_point)].append(binding)

    @property
    def binding_count(self) -> int:
        return len(self._bindings)

    def restore(self, open_keys: Iterable[tuple[str, str]]) -> None:
        """Mark (rule, device) pairs whose alarm is open in the database as active."""
        for key in open_keys:
            state = self._states.get(key)
            if state is not None:
                state.active = True

    def adopt_states(self, previous: RuleEngine) -> None:
        """Keep pending timers and active alarms of rules unchanged by a reload."""
        for key, binding in self._bindings.items():
            old = previous._bindings.get(key)
            if old is not None and old.rule == binding.rule:
                self._states[key] = previous._states[key]

    def is_active(self, rule_id: str, device_id: str) -> bool:
        state = self._states.get((rule_id, device_id))
        return bool(state and state.active)

    def on_reading(self, reading: Reading) -> list[Action]:
        bindings = self._by_point.get((reading.device_id, reading.point))
        if not bindings:
            return []
        actions: list[Action] = []
        for binding in bindings:
            key = (binding.rule.id, reading.device_id)
            state = self._states[key]
            if not state.active:
                if reading.point != binding.raise_point:
                    continue
                if binding.rule.when.test(reading.value):
                    if state.pending_since is None:
                        state.pending_since = reading.at
                    state.pending_value = reading.value
                    if reading.at - state.pending_since >= binding.rule.for_:
                        actions.append(self._raise(binding, state))
                else:
                    state.pending_since = None
            else:
                if reading.point != binding.clear_point:
                    continue
                if self._clears(binding, reading.value):
                    if state.clear_since is None:
                        state.clear_since = reading.at
                    if reading.at - state.clear_since >= binding.clear_for:
                        actions.append(self._clear(binding, state))
                else:
                    state.clear_since = None
        return actions

    def tick(self, now: float) -> list[Action]:
        """Fire every ``for:`` whose duration has elapsed by ``now``."""
        actions: list[Action] = []
        for key, state in self._states.items():
            binding = self._bindings[key]
            if (not state.active and state.pending_since is not None
                    and now - state.pending_since >= binding.rule.for_):
                actions.append(self._raise(binding, state))
            elif (state.active and state.clear_since is not None
                    and now - state.clear_since >= binding.clear_for):
                actions.append(self._clear(binding, state))
        return actions

    @staticmethod
    def _clears(binding: _Binding, value: object) -> bool:
        if binding.clear_test is not None:
            return binding.clear_test.test(value)
        return not binding.rule.when.test(value)

    def _raise(self, binding: _Binding, state: _State) -> RaiseAlarm:
        at = state.pending_since if state.pending_since is not None else 0.0
        state.active, state.pending_since, state.clear_since = True, None, None
        rule, device = binding.rule, binding.device
        context = self._context(rule, device, state.pending_value)
        post = None
        title = self._renderer.render(rule.name or rule.id, context)
        if rule.raise_.post is not None:
            spec = rule.raise_.post
            title = self._renderer.render(spec.title, context)
            post = PostDraft(
                place_id=self._scope_place(device.place_id, spec.scope),
                kind=spec.kind,
                title=title,
                body=self._renderer.render(spec.body, context),
            )
        return RaiseAlarm(
            rule_id=rule.id,
            device_id=device.id,
            place_id=device.place_id,
            building_id=self._kind_above(device.place_id, "building"),
            severity=rule.severity,
            title=title,
            at=at,
            notify_managers=rule.raise_.notify == "managers",
            post=post,
        )

    @staticmethod
    def _clear(binding: _Binding, state: _State) -> ClearAlarm:
        at = state.clear_since if state.clear_since is not None else 0.0
        state.active, state.clear_since, state.pending_since = False, None, None
        return ClearAlarm(rule_id=binding.rule.id, device_id=binding.device.id, at=at)

    def _kind_above(self, place_id: str, kind: str) -> str | None:
        return next((p.id for p in _ancestors(place_id, self._places) if p.kind == kind), None)

    def _scope_place(self, place_id: str, scope: str) -> str:
        """The device's ancestor of kind ``scope``; the device's own place if it sits above it."""
        return self._kind_above(place_id, scope) or place_id

    def _context(self, rule: Rule, device: Device, value: object) -> dict[str, object]:
        place = self._places.get(device.place_id)
        return {
            "device": {
                "id": device.id,
                "name": device.name,
                "kind": device.kind,
                "place": {"id": device.place_id, "name": place.name if place else device.place_id},
            },
            "value": value,
            "rule": {"id": rule.id, "severity": rule.severity, "name": rule.name or rule.id},
        }


Clock = Callable[[], float]
