"""The Activity Log: one "Public API access" row per call or refused authentication (recorder, redaction),
the per-key budgets counted over it, and its admin, dashboard, export and retention commands."""
