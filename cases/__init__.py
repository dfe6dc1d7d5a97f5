"""The Stellar data (cases, alerts and what hangs off a case) and the backend interface every door reads
and updates it through: the embedded store over this database, or a Stellar Cyber platform upstream."""
