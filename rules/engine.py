"""The stateful rules engine: a pure function of readings, events, availability and a clock.

For each (rule, subject) — a device, or a place grouping devices for a count —
the engine keeps a small state machine::

    idle ──condition true──▶ pending ──held ``for`` (in schedule, cooled down)──▶ active
      ▲                        │                                    (RaiseAlarm)    │
      └──condition false───────┘        idle ◀── clear held ``for`` / ``after`` ────┘
                                                          (ClearAlarm; cooldown starts)

Its state is plain data. ``take_state_changes`` reports the states whose
*restart-relevant* part changed — the machine's own fields, a condition turning
true or false, an offline clock, an event, what a history test (``changed``,
``rate``) needs — so the gateway stores them with the alarms, and ``load_states``
resumes pending timers and episodes after a restart. A reading that changes none of
that (a temperature still above its threshold, a door still open while its ``for:``
runs) writes nothing: that is what keeps the ingest path cheap. So after a crash a
pending alarm raises with the evidence its devices gave when they first met the
condition (the same devices and times of the condition, perhaps older values); and a
``missing`` test's last reading is kept to within a minute (rules.conditions). A
duplicate input never moves a machine twice.

Timers (``tick``) only visit the machines that time can move: pending or active
ones, and the conditions of silence (``offline_for``, ``missing``) and event counts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from devices.records import Device, Event, Reading
from devices.registry import DeviceRegistry
from rules.actions import (
    Action,
    ClearAlarm,
    CommandDraft,
    EscalationStep,
    Evidence,
    NoticeDraft,
    PostDraft,
    RaiseAlarm,
    StateChange,
    WebhookDraft,
)
from rules.conditions import DeviceConditionModel, Tracker, tracker_for
from rules.schedule import in_schedule
from rules.schema import (
    CountCondition,
    EventCondition,
    HelpRequestAction,
    OfflineCondition,
    PointCondition,
    Rule,
    ValueTest,
)
from rules.templates import TemplateRenderer
from social.site import PlaceNode

log = logging.getLogger(__name__)

PlaceLookup = Mapping[str, PlaceNode]

#: An event alarm with no ``clear`` ends by itself after this long.
DEFAULT_EVENT_CLEAR = 600.0
_LEVELS = ("unit", "floor", "entrance", "building", "neighbourhood", "city")
#: The state machine's own fields, besides ``evidence`` and ``devices``.
_MACHINE = ("active", "pending_since", "clear_since", "raised_at", "cooled_until")


@dataclass(frozen=True, slots=True)
class _Binding:
    rule: Rule
    subject: str
    place_id: str
    devices: tuple[Device, ...]
    condition: DeviceConditionModel
    count: CountCondition | None
    clear_point: str | None
    clear_test: ValueTest | None
    clear_for: float
    clear_after: float | None
    tracker: Tracker
    key: tuple[str, str]
    #: an event condition (isinstance on a pydantic model costs, so it is asked once)
    on_events: bool

    @property
    def instant(self) -> bool:
        """An event rule on one device: true at the event's moment only."""
        return self.on_events and self.count is None


def _ancestors(place_id: str, places: PlaceLookup) -> list[PlaceNode]:
    chain: list[PlaceNode] = []
    node = places.get(place_id)
    while node is not None:
        chain.append(node)
        node = places.get(node.parent_id) if node.parent_id else None
    return chain


def _selects(condition: Any, device: Device, places: PlaceLookup) -> bool:
    if condition.kind is not None and condition.kind != device.kind:
        return False
    if condition.device is not None and condition.device != device.id:
        return False
    if condition.place is not None and condition.place not in {
            p.id for p in _ancestors(device.place_id, places)}:
        return False
    if isinstance(condition, PointCondition):
        return device.point(condition.point) is not None
    return True


def applies(rule: Rule, device: Device, places: PlaceLookup) -> bool:
    """Whether ``rule``'s selectors pick ``device`` (for a count: its inner condition's)."""
    condition = rule.when.of if isinstance(rule.when, CountCondition) else rule.when
    return _selects(condition, device, places)


def _new_state() -> dict[str, Any]:
    return {"active": False, "pending_since": None, "clear_since": None, "raised_at": None,
            "cooled_until": None, "evidence": [], "devices": {}}


class RuleEngine:
    def __init__(
        self,
        rules: Iterable[Rule],
        registry: DeviceRegistry,
        places: PlaceLookup,
        renderer: TemplateRenderer | None = None,
        *,
        timezone: str = "Europe/Paris",
    ) -> None:
        self._places = places
        self._renderer = renderer or TemplateRenderer()
        self._registry = registry
        self._zone = ZoneInfo(timezone)
        self._bindings: dict[tuple[str, str], _Binding] = {}
        self._states: dict[tuple[str, str], dict[str, Any]] = {}
        #: device → point → the bindings a reading of it concerns
        self._by_device: dict[str, dict[str, list[_Binding]]] = {}
        self._by_event: dict[str, list[_Binding]] = defaultdict(list)
        self._by_availability: dict[str, list[_Binding]] = defaultdict(list)
        self._order: dict[tuple[str, str], int] = {}  # bindings in rule order, for ticks
        self._silence: set[tuple[str, str]] = set()  # conditions that time alone can make true
        self._always: list[_Binding] = []  # ticked every time: silences and event counts
        self._timers: set[tuple[str, str]] = set()  # pending or active: ticked too
        self._dirty: set[tuple[str, str]] = set()
        self._saved: set[tuple[str, str]] = set()  # states stored (as far as we know)
        for rule in rules:
            for binding in self._bind(rule, registry):
                self._add(binding)

    # -- set-up ---------------------------------------------------------------------------

    def _bind(self, rule: Rule, registry: DeviceRegistry) -> list[_Binding]:
        when = rule.when
        inner = when.of if isinstance(when, CountCondition) else when
        devices = [d for d in registry if _selects(inner, d, self._places)]
        clear = rule.clear
        clear_test = clear.when if clear is not None else None
        clear_point = None
        if clear_test is not None:
            clear_point = clear_test.point or (inner.point if isinstance(inner, PointCondition)
                                               else None)
        clear_after = clear.after if clear is not None else None
        if isinstance(inner, EventCondition) and clear is None:
            clear_after = DEFAULT_EVENT_CLEAR
        common = {"rule": rule, "condition": inner, "clear_point": clear_point,
                  "clear_test": clear_test, "clear_for": clear.for_ if clear else 0.0,
                  "clear_after": clear_after, "tracker": tracker_for(inner),
                  "on_events": isinstance(inner, EventCondition)}
        if not isinstance(when, CountCondition):
            return [_Binding(subject=d.id, place_id=d.place_id, devices=(d,), count=None,
                             key=(rule.id, d.id), **common) for d in devices]
        groups: dict[str, list[Device]] = defaultdict(list)
        for device in devices:
            group = self._kind_above(device.place_id, when.per) or device.place_id
            groups[group].append(device)
        return [_Binding(subject=f"place:{group}", place_id=group, devices=tuple(members),
                         count=when, key=(rule.id, f"place:{group}"), **common)
                for group, members in sorted(groups.items())]

    def _add(self, binding: _Binding) -> None:
        key = binding.key
        self._bindings[key] = binding
        self._states[key] = _new_state()
        self._order[key] = len(self._order)
        points = set(binding.tracker.watched)
        if binding.clear_point:
            points.add(binding.clear_point)
        for device in binding.devices:
            by_point = self._by_device.setdefault(device.id, {})
            for point in points:
                by_point.setdefault(point, []).append(binding)
            self._by_event[device.id].append(binding)
            self._by_availability[device.id].append(binding)
        if isinstance(binding.condition, OfflineCondition) or (
                isinstance(binding.condition, PointCondition)
                and binding.condition.missing is not None):
            self._silence.add(key)
        if key in self._silence or (binding.count is not None
                                    and isinstance(binding.condition, EventCondition)):
            self._always.append(binding)

    @property
    def binding_count(self) -> int:
        return len(self._bindings)

    # -- persistence ----------------------------------------------------------------------

    def _watch(self, key: tuple[str, str], state: Mapping[str, Any]) -> None:
        """Keep a pending or active machine in the timers' round."""
        if state["active"] or state["pending_since"] is not None:
            self._timers.add(key)

    def restore(self, open_keys: Iterable[tuple[str, str]]) -> None:
        """Mark (rule, subject) pairs whose alarm is open in the database as active."""
        for key in open_keys:
            state = self._states.get(key)
            if state is not None and not state["active"]:
                state["active"] = True
                self._timers.add(key)

    def load_states(self, states: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
        """Resume pending timers, episodes and history saved by ``take_state_changes``."""
        for key, saved in states.items():
            binding = self._bindings.get(key)
            if binding is None:
                continue
            state = _new_state()
            state.update({k: v for k, v in saved.items() if k in state and k != "devices"})
            state["evidence"] = list(state["evidence"] or [])
            devices = saved.get("devices") or {}
            state["devices"] = {device_id: binding.tracker.saved(dict(sub))
                                for device_id, sub in devices.items()}
            self._states[key] = state
            self._saved.add(key)
            self._watch(key, state)

    def saved_state(self, key: tuple[str, str]) -> dict[str, Any] | None:
        """What a restart needs of one machine's state; None when a fresh state would do."""
        state = self._states.get(key)
        if state is None:
            return None
        saved = self._bindings[key].tracker.saved
        devices = {}
        for device_id, sub in state["devices"].items():
            kept = saved(sub)
            if kept:
                devices[device_id] = kept
        evidence = list(state["evidence"])  # its dicts are replaced, never changed
        if (not devices and not evidence and not state["active"]
                and state["pending_since"] is None and state["clear_since"] is None
                and state["raised_at"] is None and state["cooled_until"] is None):
            return None
        view = {name: state[name] for name in _MACHINE}
        view["evidence"] = evidence
        view["devices"] = devices
        return view

    def take_state_changes(self) -> list[StateChange]:
        """The states to store since the last call: a new state, or None to forget one."""
        changes = []
        for key in sorted(self._dirty):
            view = self.saved_state(key)
            if view is not None:
                self._saved.add(key)
                changes.append(StateChange(key[0], key[1], view))
            elif key in self._saved:
                self._saved.discard(key)
                changes.append(StateChange(key[0], key[1], None))
        self._dirty.clear()
        return changes

    def adopt_states(self, previous: RuleEngine) -> None:
        """After a reload, keep the states of rules whose definition did not change."""
        for key, binding in self._bindings.items():
            old = previous._bindings.get(key)
            if old is not None and old.rule == binding.rule:
                state = previous._states[key]
                self._states[key] = state
                if key in previous._saved:
                    self._saved.add(key)
                if key in previous._dirty:
                    self._dirty.add(key)
                self._watch(key, state)

    def is_active(self, rule_id: str, subject: str) -> bool:
        state = self._states.get((rule_id, subject))
        return bool(state and state["active"])

    # -- inputs ---------------------------------------------------------------------------

    def on_reading(self, reading: Reading) -> list[Action]:
        points = self._by_device.get(reading.device_id)
        if points is None:
            return []
        point = reading.point
        bindings = points.get(point)
        if not bindings:  # (only the registry's devices have bindings)
            return []
        device_id, at = reading.device_id, reading.at
        actions: list[Action] = []
        for binding in bindings:
            key = binding.key
            state = self._states[key]
            if state["active"] and binding.clear_test is not None:
                if point == binding.clear_point:
                    actions += self._clear_by_test(binding, state, reading)
                if point not in binding.tracker.watched:
                    continue
            devices = state["devices"]
            sub = devices.get(device_id)
            if sub is None:
                sub = devices[device_id] = {}
            step = binding.tracker.on_reading(device_id, sub, reading)
            if step.saved:
                self._dirty.add(key)
            truth = step.truth
            if truth is None:
                continue
            if (not truth.true and binding.count is None and not state["active"]
                    and state["pending_since"] is None):
                continue  # idle and still false: nothing can move
            actions += self._evaluate(binding, state, at, truth.evidence)
        return actions

    def on_event(self, event: Event) -> list[Action]:
        actions: list[Action] = []
        device = self._registry.get(event.device_id)
        if device is None:
            return actions
        for binding in self._by_event.get(event.device_id, ()):
            state = self._states[binding.key]
            sub = state["devices"].setdefault(device.id, {})
            step = binding.tracker.on_event(device.id, sub, event)
            if step.saved:
                self._dirty.add(binding.key)
            truth = step.truth
            if truth is None:
                continue
            actions += self._evaluate(binding, state, truth.at, truth.evidence)
        return actions

    def on_availability(self, device_id: str, online: bool, at: float) -> list[Action]:
        actions: list[Action] = []
        device = self._registry.get(device_id)
        if device is None:
            return actions
        for binding in self._by_availability.get(device_id, ()):
            state = self._states[binding.key]
            sub = state["devices"].setdefault(device.id, {})
            step = binding.tracker.on_availability(device.id, sub, online, at)
            if step.saved:
                self._dirty.add(binding.key)
            truth = step.truth
            if truth is None:
                continue
            actions += self._evaluate(binding, state, at, truth.evidence)
        return actions

    def _due(self) -> list[_Binding]:
        """The machines time can move, in rule order (as every tick has always gone)."""
        if not self._timers:
            return self._always
        keys = {b.key for b in self._always} | self._timers
        order = self._order
        return [self._bindings[k] for k in sorted(keys, key=order.__getitem__)
                if k in self._bindings]

    def tick(self, now: float) -> list[Action]:
        """Fire what time alone decides: ``for``, silence, clear delays, cooldown ends."""
        actions: list[Action] = []
        dirty = self._dirty
        for binding in self._due():
            key = binding.key
            state = self._states[key]
            if key in self._silence:
                tracker = binding.tracker
                devices = state["devices"]
                for device in binding.devices:
                    sub = devices.setdefault(device.id, {})
                    step = tracker.on_tick(device.id, sub, now)
                    if step.saved:
                        dirty.add(key)
                    truth = step.truth
                    if truth is not None:
                        actions += self._evaluate(binding, state, truth.at, truth.evidence)
            if binding.count is not None and binding.on_events:
                actions += self._evaluate(binding, state, now, None)  # events age out
            if not state["active"] and state["pending_since"] is not None:
                if self._may_raise(binding, state, now):
                    actions.append(self._raise(binding, state, now))
            elif state["active"]:
                clear_since = state["clear_since"]
                if clear_since is not None and now - clear_since >= binding.clear_for:
                    actions.append(self._clear(binding, state, clear_since))
                elif (binding.clear_after is not None and state["raised_at"] is not None
                        and now - state["raised_at"] >= binding.clear_after):
                    actions.append(self._clear(binding, state,
                                               state["raised_at"] + binding.clear_after))
            if not state["active"] and state["pending_since"] is None:
                self._timers.discard(key)
        return actions

    # -- the state machine ----------------------------------------------------------------

    def _truth(self, binding: _Binding, state: dict[str, Any], at: float) -> bool:
        if binding.count is None:
            return bool(state["devices"].get(binding.devices[0].id, {}).get("cond"))
        within = binding.count.within
        true = 0
        for device in binding.devices:
            sub = state["devices"].get(device.id, {})
            if binding.on_events:
                event_at = sub.get("event_at")
                true += event_at is not None and at - event_at <= within
            else:
                true += bool(sub.get("cond"))
        return true >= binding.count.at_least

    def _evaluate(self, binding: _Binding, state: dict[str, Any], at: float,
                  evidence: Evidence | None) -> list[Action]:
        key = binding.key
        instant = binding.on_events and binding.count is None
        true = evidence is not None if instant else self._truth(binding, state, at)
        if evidence is not None:
            old = state["evidence"]
            kept = [e for e in old if e["device_id"] != evidence.device_id]
            state["evidence"] = [*kept, _evidence_dict(evidence)][-20:]
            # Evidence matters to a restart until the alarm is raised, and then which
            # devices it names, not each reading's value: a door left open would otherwise
            # write its state at every report.
            if not state["active"] and len(kept) == len(old):
                self._dirty.add(key)
        if not state["active"]:
            if not true:
                if state["pending_since"] is not None:
                    state["pending_since"] = None
                    self._dirty.add(key)
                return []
            if state["pending_since"] is None:
                state["pending_since"] = at
                self._dirty.add(key)
                self._timers.add(key)
            if self._may_raise(binding, state, at):
                return [self._raise(binding, state, at)]
            if instant:  # an event outside the schedule or in cooldown is let go
                state["pending_since"] = None
            return []
        if binding.clear_test is not None or binding.clear_after is not None:
            return []  # cleared by its own test or delay
        if true:
            if state["clear_since"] is not None:
                state["clear_since"] = None
                self._dirty.add(key)
            return []
        if state["clear_since"] is None:
            state["clear_since"] = at
            self._dirty.add(key)
        if at - state["clear_since"] >= binding.clear_for:
            return [self._clear(binding, state, state["clear_since"])]
        return []

    def _clear_by_test(self, binding: _Binding, state: dict[str, Any],
                       reading: Reading) -> list[Action]:
        assert binding.clear_test is not None
        if not binding.clear_test.test(reading.value):
            if state["clear_since"] is not None:
                state["clear_since"] = None
                self._dirty.add(binding.key)
            return []
        if state["clear_since"] is None:
            state["clear_since"] = reading.at
            self._dirty.add(binding.key)
        if reading.at - state["clear_since"] >= binding.clear_for:
            return [self._clear(binding, state, state["clear_since"])]
        return []

    def _may_raise(self, binding: _Binding, state: dict[str, Any], now: float) -> bool:
        since = state["pending_since"]
        cooled = state["cooled_until"]
        return (since is not None and now - since >= binding.rule.for_
                and (cooled is None or now >= cooled)
                and in_schedule(binding.rule.during, now, self._zone))

    def _clear(self, binding: _Binding, state: dict[str, Any], at: float) -> ClearAlarm:
        state.update(active=False, clear_since=None, pending_since=None, raised_at=None,
                     evidence=[], cooled_until=at + binding.rule.cooldown
                     if binding.rule.cooldown else None)
        for sub in state["devices"].values():
            sub.pop("event_at", None)
        self._dirty.add(binding.key)
        return ClearAlarm(rule_id=binding.rule.id, device_id=binding.subject, at=at)

    def _raise(self, binding: _Binding, state: dict[str, Any], now: float) -> RaiseAlarm:
        since = state["pending_since"] if state["pending_since"] is not None else now
        evidence = tuple(Evidence(**e) for e in state["evidence"])
        state.update(active=True, pending_since=None, clear_since=None, raised_at=now)
        self._dirty.add(binding.key)
        self._timers.add(binding.key)
        return self._render_raise(binding, since, evidence)

    # -- rendering ------------------------------------------------------------------------

    def _kind_above(self, place_id: str, kind: str) -> str | None:
        return next((p.id for p in _ancestors(place_id, self._places) if p.kind == kind), None)

    def _scope_place(self, place_id: str, scope: str) -> str:
        """The place's ancestor of kind ``scope``; the place itself if it sits above it."""
        return self._kind_above(place_id, scope) or place_id

    def _place_info(self, place_id: str) -> dict[str, str]:
        node = self._places.get(place_id)
        return {"id": place_id, "name": node.name if node else place_id}

    def _context(self, binding: _Binding, evidence: tuple[Evidence, ...],
                 reveal: str = "device") -> dict[str, object]:
        rule = binding.rule
        device = binding.devices[0]
        first = evidence[0] if evidence else None
        place_id = binding.place_id
        if reveal != "device":
            shown = place_id
            for level in _LEVELS[_LEVELS.index(reveal):]:
                above = self._kind_above(place_id, level)
                if above is not None:
                    shown = above
                    break
            place_id = shown
        device_info: dict[str, object] = {"kind": device.kind, "place": self._place_info(place_id)}
        if reveal == "device":
            device_info.update(id=device.id, name=device.name)
        return {
            "device": device_info,
            "place": self._place_info(place_id),
            "value": first.value if first else None,
            "rule": {"id": rule.id, "severity": rule.severity},
            "count": len(evidence),
            "event": self._last_event(binding),
            # filled in later by the social layer, when the manager acts or the alarm ends
            "note": "{{ note }}", "by": "{{ by }}", "duration": "{{ duration }}",
        }

    def _last_event(self, binding: _Binding) -> dict[str, Any] | None:
        """The event that raised an event rule: ``event.name``, ``event.data.unit``, ..."""
        state = self._states[binding.key]
        events = [sub["event"] for sub in state["devices"].values() if sub.get("event")]
        return events[-1] if events else None

    def _help_request(self, spec: HelpRequestAction | None, binding: _Binding,
                      context: dict[str, object]) -> PostDraft | None:
        if spec is None:
            return None
        return PostDraft(
            place_id=self._scope_place(binding.place_id, spec.scope),
            kind="help_request",
            title=self._renderer.render(spec.title, context),
            body=self._renderer.render(spec.body, context),
        )

    def _notice(self, binding: _Binding, context: dict[str, object]) -> NoticeDraft | None:
        spec = binding.rule.raise_.notice
        if spec is None:
            return None
        if spec.unit is not None:
            unit = self._renderer.render(spec.unit, context)["fr"].strip()
        else:
            unit = self._kind_above(binding.place_id, "unit") or ""
        node = self._places.get(unit)
        if node is None or node.kind != "unit":
            log.warning("rule %s: %r is not a unit; the private notice is not sent",
                        binding.rule.id, unit)
            return None
        return NoticeDraft(unit_id=unit, title=self._renderer.render(spec.title, context),
                           body=self._renderer.render(spec.body, context))

    def _render_raise(self, binding: _Binding, since: float,
                      evidence: tuple[Evidence, ...]) -> RaiseAlarm:
        rule, actions = binding.rule, binding.rule.raise_
        full = self._context(binding, evidence)
        # Post updates go to residents: no more than the post itself may reveal.
        resident = (self._context(binding, evidence, actions.post.reveal)
                    if actions.post is not None else full)
        later = {k: v if k in ("note", "by", "duration") else _literal(v)
                 for k, v in resident.items()}
        post = None
        title = self._renderer.render(rule.name or rule.id, full)
        if actions.post is not None:
            spec = actions.post
            shown = self._context(binding, evidence, spec.reveal)
            if rule.name is None:
                title = self._renderer.render(spec.title, full)
            post = PostDraft(
                place_id=self._scope_place(binding.place_id, spec.scope),
                kind=spec.kind,
                title=self._renderer.render(spec.title, shown),
                body=self._renderer.render(spec.body, shown),
            )
        commands = ()
        if actions.command is not None:
            c = actions.command
            commands = (CommandDraft(c.device, c.point, c.value),)
        webhooks = ()
        if actions.webhook is not None:
            w = actions.webhook
            body = self._renderer.render(w.body, full)["en"] if w.body else ""
            webhooks = (WebhookDraft(w.url, w.method, body, w.timeout, w.retries),)
        escalation = tuple(
            EscalationStep(step.after, step.notify,
                           self._help_request(step.help_request, binding, full))
            for step in rule.escalate)
        return RaiseAlarm(
            rule_id=rule.id,
            device_id=binding.subject,
            place_id=binding.place_id,
            building_id=self._kind_above(binding.place_id, "building"),
            severity=rule.severity,
            title=title,
            at=since,
            notify_managers=actions.notify == "managers",
            notify_on_call=actions.on_call,
            post=post,
            notice=self._notice(binding, full),
            help_request=self._help_request(actions.help_request, binding, full),
            commands=commands,
            webhooks=webhooks,
            escalation=escalation,
            # rendered again by the social layer with note/by/duration: escape the rest
            acknowledge_text=self._renderer.render(
                rule.acknowledge.post_update if rule.acknowledge else None, later),
            clear_text=self._renderer.render(
                rule.clear.post_update if rule.clear else None, later),
            evidence=evidence,
            quiet_hours_apply=rule.severity != "critical",
        )


def _evidence_dict(evidence: Evidence) -> dict[str, Any]:
    return {"device_id": evidence.device_id, "what": evidence.what, "at": evidence.at,
            "condition": evidence.condition, "value": evidence.value}


def _literal(value: object) -> object:
    """Text that survives a second Jinja pass unchanged (for texts completed later)."""
    if isinstance(value, str):
        return value.replace("{", "{{ '{' }}")
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    return value

