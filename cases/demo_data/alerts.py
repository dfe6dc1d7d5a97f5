"""Alert documents shaped like Stellar Cyber's Interflow records (`_source` of an `aella-ser-*` index)."""

from __future__ import annotations

import functools
import uuid
from random import Random
from typing import Any

from . import mitre as m
from .records import DAY, AlertRow, TenantProfile, dt, es_id

# Alert severity (numeric, 0-100) by the severity of its case.
SEVERITY_BANDS = {"Critical": (70, 100), "High": (50, 85), "Medium": (25, 60), "Low": (5, 35)}


@functools.cache
def index_name(day: int) -> str:
    """The daily index an alert of that day (days since the epoch) lands in."""
    return f"aella-ser-{dt(day * DAY):%Y.%m.%d}"


def office_geo(p: TenantProfile) -> dict[str, Any]:
    city, cc, country, region, lat, lon = p.office
    return {"city": city, "countryCode": cc, "countryName": country, "region": region, "latitude": lat,
            "longitude": lon}


def build_alerts(rng: Random, p: TenantProfile, *, steps: list[str], status: str, severity: str, start_ms: int,
                 end_ms: int, ent: dict[str, Any], addresses: tuple[str, str, dict[str, Any]]) -> list[AlertRow]:
    """One alert per step (technique id), spread between start and end, the first at start."""
    r = rng
    if not steps:
        return []
    host_ip, server_ip, ext_geo = addresses
    times = sorted(r.randint(start_ms, end_ms) for _ in steps)
    times[0] = start_ms
    site_geo = office_geo(p)
    lo, hi = SEVERITY_BANDS[severity]
    tenant = p.tenant
    alerts = []
    for tid, ts in zip(steps, times):
        t = m.TECHNIQUES[tid]
        det = r.choice(t.detections)
        if t.kind == "inbound":
            src, sgeo, shost, dst, dgeo, dhost = ent["ext_ip"], ext_geo, "", host_ip, site_geo, ent["host"]
        elif t.kind == "outbound":
            src, sgeo, shost, dst, dgeo, dhost = host_ip, site_geo, ent["host"], ent["ext_ip"], ext_geo, ""
        elif t.kind == "internal":
            src, sgeo, shost, dst, dgeo, dhost = (host_ip, site_geo, ent["host"], server_ip, site_geo,
                                                  ent["server"])
        else:
            src, sgeo, shost, dst, dgeo, dhost = host_ip, site_geo, ent["host"], "", None, ""
        sev = r.randint(lo, hi)
        score = min(100, max(0, sev + r.randint(-10, 10)))
        uid = str(uuid.UUID(int=r.getrandbits(128), version=4))
        index = index_name(ts // DAY)
        if det.category == "email":
            fields, values = ["url", "sender"], [ent["url"], ent["email"]]
        elif t.kind == "local":
            fields, values = ["process_name", "host"], [t.processes[0] if t.processes else "", ent["host"]]
        else:
            fields, values = ["srcip", "dstip"], [src, dst]
        doc: dict[str, Any] = {
            "stellar_uuid": uid,
            "tenantid": tenant.cust_id,
            "tenant_name": tenant.cust_name,
            "org_id": tenant.attributes["org_id"],
            "timestamp": ts,
            "write_time": ts + r.randint(200, 5000),
            "stellar": {"uuid": uid, "alert_time": ts, "detection_time": ts + r.randint(100, 3000)},
            "xdr_event": {
                "name": det.name,
                "display_name": det.display_name,
                "description": f"{det.display_name} ({t.technique_name}) reported by {m.VENDORS[det.source]}.",
                "framework_version": "v2",
                "tactic": {"id": t.tactic_id, "name": t.tactic_name},
                "technique": {"id": t.technique_id, "name": t.technique_name},
                "xdr_killchain_stage": m.KILL_CHAIN_STAGE[t.tactic_id],
                "xdr_killchain_version": "v2",
            },
            "event_name": det.display_name,
            "event_category": det.category,
            "event_source": det.source,
            "msg_origin": {"source": det.source, "category": det.category, "vendor": m.VENDORS[det.source]},
            "severity": sev,
            "event_score": score,
            "fidelity": r.randint(10, 100),
            "threat_score": r.randint(0, 100),
            "event_status": status,
            "detected_fields": fields,
            "detected_values": values,
            "srcip": src,
            "srcport": r.randint(1024, 65535),
            "srcip_host": shost,
            "srcip_type": "public" if sgeo is ext_geo else "private",
            "srcip_username": ent["user"] if shost else "",
            "dstip": dst,
            "dstport": t.port,
            "dstip_host": dhost,
            "dstip_type": "public" if dgeo is ext_geo else "private",
            "proto": "udp" if t.app in ("dns", "kerberos") else "tcp",
            "appid_name": t.app,
            "totalbytes": r.randint(400, 5_000_000),
            "totalpackets": r.randint(4, 4000),
        }
        if sgeo is not None:
            doc["srcip_geo"] = sgeo
        if dgeo is not None:
            doc["dstip_geo"] = dgeo
        if sgeo is ext_geo or dgeo is ext_geo:
            doc["srcip_reputation" if sgeo is ext_geo else "dstip_reputation"] = r.choice(
                ("Malicious", "Suspicious", "Bad Reputation", "Scanner"))
        if t.processes:
            doc["process_name"] = r.choice(t.processes)
            doc["host"] = {"name": ent["host"], "ip": host_ip}
        if det.category == "email":
            doc["email"] = {"from": ent["email"], "to": f"{ent['user']}@{p.domain}", "url": ent["url"],
                            "subject": r.choice(("Invoice overdue", "Shared document", "Password expiry",
                                                 "Payroll update"))}
        ai = alert_ai_summary(r, det.display_name, doc) if r.random() < 0.1 else None
        alerts.append(AlertRow(
            es_id(r), index, uid, tenant.pk, dt(ts), doc, det.display_name, t.tactic_id, t.tactic_name,
            t.technique_id, t.technique_name, sev, score, status, src, dst, ai,
        ))
    return alerts


def alert_ai_summary(r: Random, name: str, doc: dict[str, Any]) -> dict[str, Any]:
    xdr = doc["xdr_event"]
    return {
        "summary": f"{name}: {xdr['description']} Source {doc['srcip'] or 'n/a'}, "
                   f"destination {doc['dstip'] or 'n/a'}.",
        "verdict": "True Positive" if r.random() < 0.7 else "False Positive",
        "confidence": round(r.uniform(0.5, 0.99), 2),
        "mitre": {"tactic": xdr["tactic"], "technique": xdr["technique"]},
        "recommended_actions": ["Correlate with other alerts on the same host",
                                "Validate the activity with the asset owner"],
    }
