"""Attack scenarios, organisations, people, places and texts of the demo data (all made up).

A scenario's chain names MITRE ATT&CK technique ids of `mitre.TECHNIQUES`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    key: str
    weight: int
    chain: tuple[str, ...]  # technique ids in attack order
    names: tuple[str, ...]  # str.format templates: host, server, user, domain, ext_ip, vendor, others
    tags: tuple[str, ...]
    severity_weights: tuple[int, int, int, int]  # Critical, High, Medium, Low
    true_positive_rate: float
    hypothesis: str
    recommendations: tuple[str, ...]
    on_server: bool = False  # the victim is a server rather than a workstation


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "ransomware", 10, ("T1566", "T1204", "T1059", "T1003", "T1021", "T1490", "T1486"),
        (
            "Ransomware: Data Encrypted for Impact on {host}",
            "Ransomware: Inhibit System Recovery on {host}",
            "Ransomware Activity: Mass File Encryption on {host} and {others}",
        ),
        ("ransomware", "impact", "edr"), (50, 35, 12, 3), 0.85,
        "A phishing email delivered a loader to {host}; the operator dumped credentials of {user}, moved "
        "laterally over RDP/SMB, deleted shadow copies and started encrypting files: a ransomware intrusion.",
        (
            "Isolate {host} from the network immediately",
            "Disable and reset the credentials of {user}",
            "Block {domain} and {ext_ip} at the perimeter",
            "Verify the integrity of backups before restoring",
            "Hunt for the same hash on every endpoint",
        ),
    ),
    Scenario(
        "phishing", 20, ("T1566", "T1204", "T1071"),
        (
            "{vendor} messagesBlocked: Phishing and {others}",
            "Phishing: Malicious Link Clicked by {user}",
            "Phishing: Credential Harvesting Page {domain}",
        ),
        ("phishing", "email"), (5, 25, 50, 20), 0.5,
        "{user} received a phishing email from {email} and opened its link to {domain}; the host {host} "
        "then contacted the phishing infrastructure.",
        (
            "Purge the message from all mailboxes",
            "Reset the password of {user} and revoke active sessions",
            "Add {domain} to the email and web block lists",
        ),
    ),
    Scenario(
        "identity", 14, ("T1110", "T1078", "T1087"),
        (
            "Brute-Forced Successful User Login for {user}",
            "Credential Access: Password Spray from {ext_ip}",
            "Impossible Travel Login by {user}",
        ),
        ("identity", "credential-access"), (8, 30, 42, 20), 0.45,
        "Repeated failed logins from {ext_ip} were followed by a successful login as {user}, who then "
        "enumerated domain accounts: a likely account takeover.",
        (
            "Force a password reset and MFA re-registration for {user}",
            "Block {ext_ip} and review conditional access policies",
            "Review sign-in logs of {user} for the last 7 days",
        ),
    ),
    Scenario(
        "lateral", 8, ("T1078", "T1046", "T1021", "T1570", "T1003"),
        (
            "Lateral Movement: Remote Services from {host}",
            "Credential Dumping and Lateral Movement on {server}",
        ),
        ("lateral-movement", "edr"), (25, 45, 25, 5), 0.7,
        "Valid credentials of {user} were used on {host} to scan the internal network and move to "
        "{server} with PsExec, where LSASS memory was read.",
        (
            "Isolate {host} and {server}",
            "Reset the credentials of {user} and any account logged on to {server}",
            "Restrict SMB and RDP between workstations",
        ),
    ),
    Scenario(
        "c2", 12, ("T1105", "T1071", "T1568", "T1572"),
        (
            "Command and Control: Beaconing to {domain}",
            "DNS Tunneling from {host}",
            "Connection to Malicious Domain {domain} and {others}",
        ),
        ("c2", "network"), (15, 40, 35, 10), 0.6,
        "{host} downloaded a tool and then beaconed at regular intervals to {domain} ({ext_ip}), using DNS "
        "for part of the channel: an implant with command-and-control.",
        (
            "Isolate {host} and collect a memory image",
            "Sinkhole or block {domain} and {ext_ip}",
            "Search proxy and DNS logs for other hosts contacting {domain}",
        ),
    ),
    Scenario(
        "exfiltration", 6, ("T1560", "T1041", "T1567", "T1048"),
        (
            "Data Exfiltration Over Web Service from {host}",
            "Large Upload to {ext_ip} from {host}",
        ),
        ("exfiltration", "dlp"), (20, 40, 30, 10), 0.55,
        "Files were archived on {host} by {user} and large volumes were uploaded to {ext_ip} and a cloud "
        "storage service: possible data theft.",
        (
            "Block uploads from {host} and preserve the archive files",
            "Interview {user} and review their recent file access",
            "Engage legal and privacy teams if personal data is involved",
        ),
    ),
    Scenario(
        "web_exploit", 8, ("T1595", "T1190", "T1505", "T1059"),
        (
            "Exploit Public-Facing Application on {server}",
            "Web Shell Detected on {server}",
        ),
        ("web", "exploit"), (15, 35, 35, 15), 0.5,
        "{ext_ip} scanned and then exploited the web application on {server}; a web shell was dropped and "
        "used to run commands.",
        (
            "Take {server} out of the load balancer and patch the application",
            "Remove the web shell and rotate application secrets",
            "Block {ext_ip} on the WAF",
        ),
        on_server=True,
    ),
    Scenario(
        "cryptomining", 5, ("T1105", "T1059", "T1496"),
        ("Resource Hijacking: Cryptocurrency Miner on {host}",),
        ("cryptomining",), (2, 15, 53, 30), 0.75,
        "A miner binary was downloaded to {host}, started from a script and connected to the mining pool "
        "at {ext_ip}.",
        (
            "Kill the miner process and remove its persistence on {host}",
            "Block the mining pool {ext_ip}",
            "Find how the miner got in (exposed service, weak credentials)",
        ),
    ),
    Scenario(
        "recon", 9, ("T1595",),
        (
            "Reconnaissance: External Port Scan from {ext_ip}",
            "External Vulnerability Scan against {server}",
        ),
        ("recon", "scan"), (0, 5, 35, 60), 0.2,
        "{ext_ip} scanned exposed services of the organisation including {server}; no exploitation was seen.",
        (
            "Confirm whether {ext_ip} is an authorised scanner",
            "Review the exposure of {server}",
        ),
        on_server=True,
    ),
    Scenario(
        "defense_evasion", 8, ("T1562", "T1070", "T1547", "T1136"),
        (
            "Defense Evasion: Security Tool Disabled on {host}",
            "Suspicious Account Creation by {user} on {host}",
        ),
        ("defense-evasion", "persistence"), (15, 35, 35, 15), 0.5,
        "The endpoint agent on {host} was stopped, logs were cleared and a run key and a new local "
        "administrator were added: an attacker establishing persistence.",
        (
            "Re-enable protection on {host} and run a full scan",
            "Remove the new account and the run key",
            "Review who had administrative rights on {host}",
        ),
    ),
)

EXTRA_TAGS: tuple[str, ...] = ("vip", "after-hours", "customer-notified", "needs-review", "threat-intel", "repeat")

TENANT_NAMES: tuple[str, ...] = (
    "Acme Corp", "Globex Corporation", "Internal SOC", "Initech", "Umbrella Health", "Stark Industries",
    "Wayne Enterprises", "Hooli", "Soylent Foods", "Cyberdyne Systems", "Tyrell Logistics", "Wonka Industries",
    "Massive Dynamic", "Vandelay Industries", "Pied Piper", "Aperture Labs", "Nakatomi Trading",
    "Dunder Mifflin", "Monarch Solutions", "Oceanic Airlines",
)
TENANT_GROUPS: tuple[str, ...] = ("Enterprise", "Healthcare", "Financial Services", "Manufacturing", "")

FIRST_NAMES: tuple[str, ...] = (
    "james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth",
    "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "carlos", "karen",
    "daniel", "lisa", "matthew", "nancy", "anthony", "sandra", "mark", "ashley", "wei", "priya",
    "ahmed", "olga", "kenji", "fatima", "lucas", "sofia", "noah", "emma", "raj", "mei",
)
LAST_NAMES: tuple[str, ...] = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
    "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin",
    "lee", "perez", "thompson", "white", "harris", "clark", "lewis", "walker", "hall", "young",
    "chen", "patel", "kim", "nguyen", "muller", "rossi", "tanaka", "ivanova", "silva", "khan",
)
ANALYST_NAMES: tuple[tuple[str, str], ...] = (
    ("Alice", "Nguyen"), ("Ben", "Okafor"), ("Chloe", "Martins"), ("Dev", "Sharma"), ("Elena", "Petrova"),
    ("Farid", "Haddad"), ("Grace", "Kim"), ("Hugo", "Lefevre"), ("Ines", "Costa"), ("Jonas", "Berg"),
)

SERVERS: tuple[str, ...] = (
    "SRV-DC01", "SRV-DC02", "SRV-FILE01", "SRV-FILE02", "SRV-SQL01", "SRV-EXCH01", "WEB-PROD-01",
    "WEB-PROD-02", "SRV-APP01", "SRV-BACKUP01", "VPN-GW01", "SRV-JUMP01",
)

# (city, countryCode, countryName, region, latitude, longitude, plausible first octets)
ATTACKER_GEOS: tuple[tuple[str, str, str, str, float, float, tuple[int, ...]], ...] = (
    ("Moscow", "RU", "Russia", "Moscow", 55.7558, 37.6173, (5, 31, 46, 77, 95, 178)),
    ("Beijing", "CN", "China", "Beijing", 39.9042, 116.4074, (36, 58, 61, 101, 114, 123)),
    ("Amsterdam", "NL", "Netherlands", "North Holland", 52.3676, 4.9041, (45, 80, 185, 193)),
    ("Ashburn", "US", "United States", "Virginia", 39.0438, -77.4874, (3, 34, 44, 52, 54)),
    ("Frankfurt am Main", "DE", "Germany", "Hesse", 50.1109, 8.6821, (46, 78, 85, 138, 176)),
    ("Singapore", "SG", "Singapore", "Singapore", 1.3521, 103.8198, (43, 103, 128, 139)),
    ("Sao Paulo", "BR", "Brazil", "Sao Paulo", -23.5505, -46.6333, (177, 179, 186, 189, 201)),
    ("Tokyo", "JP", "Japan", "Tokyo", 35.6762, 139.6503, (106, 126, 133, 153)),
    ("Lagos", "NG", "Nigeria", "Lagos", 6.5244, 3.3792, (41, 102, 105, 197)),
    ("Bucharest", "RO", "Romania", "Bucharest", 44.4268, 26.1025, (5, 79, 86, 188)),
    ("Seoul", "KR", "South Korea", "Seoul", 37.5665, 126.978, (1, 112, 121, 175, 211)),
    ("Kyiv", "UA", "Ukraine", "Kyiv City", 50.4501, 30.5234, (31, 91, 176, 193)),
    ("Tehran", "IR", "Iran", "Tehran", 35.6892, 51.389, (2, 5, 37, 185)),
    ("Hanoi", "VN", "Vietnam", "Hanoi", 21.0278, 105.8342, (14, 27, 113, 171)),
)
OFFICE_GEOS: tuple[tuple[str, str, str, str, float, float], ...] = (
    ("San Jose", "US", "United States", "California", 37.3382, -121.8863),
    ("New York", "US", "United States", "New York", 40.7128, -74.006),
    ("Chicago", "US", "United States", "Illinois", 41.8781, -87.6298),
    ("London", "GB", "United Kingdom", "England", 51.5072, -0.1276),
    ("Paris", "FR", "France", "Ile-de-France", 48.8566, 2.3522),
    ("Toronto", "CA", "Canada", "Ontario", 43.6532, -79.3832),
    ("Sydney", "AU", "Australia", "New South Wales", -33.8688, 151.2093),
    ("Austin", "US", "United States", "Texas", 30.2672, -97.7431),
)

DOMAIN_WORDS_A: tuple[str, ...] = (
    "secure", "login", "update", "cdn", "mail", "account", "verify", "office", "cloud", "sync", "docs", "auth",
)
DOMAIN_WORDS_B: tuple[str, ...] = (
    "portal", "service", "check", "files", "access", "365", "payroll", "invoice", "drive", "support", "api",
)
DOMAIN_TLDS: tuple[str, ...] = ("com", "net", "info", "xyz", "top", "online", "io", "cc", "ru", "live")
URL_PATHS: tuple[str, ...] = (
    "login.php", "owa/auth/logon.aspx", "invoice/{n}.zip", "wp-content/uploads/update.exe", "dl/{n}",
    "share/document_{n}.html", "api/v2/beacon", "gate.php",
)
FILE_TEMPLATES: tuple[str, ...] = (
    "C:\\Users\\{user}\\Downloads\\Invoice_{n}.docm",
    "C:\\Users\\{user}\\AppData\\Local\\Temp\\{n}.exe",
    "C:\\ProgramData\\svc{n}.dll",
    "C:\\Users\\{user}\\Documents\\README_RESTORE_FILES.txt",
    "C:\\Windows\\Temp\\archive_{n}.7z",
    "/tmp/.cache/kworker{n}",
)

COMMENTS: tuple[str, ...] = (
    "Reviewed the alerts; {host} is the only endpoint involved so far.",
    "Confirmed {host} contacted {domain}. Requested isolation from the endpoint team.",
    "User {user} says they opened an attachment from {email} this morning.",
    "Blocked {ext_ip} on the perimeter firewall.",
    "EDR telemetry shows {process} spawned from an Office document on {host}.",
    "Credentials for {user} have been reset and sessions revoked.",
    "No further activity from {ext_ip} in the last 24 hours; keeping the case open for monitoring.",
    "Customer notified through the ticketing portal; waiting for confirmation.",
    "Escalated to incident response: activity matches a known ransomware playbook.",
    "Checked with IT: {ext_ip} is not one of our authorised scanners.",
    "Hash of {file} submitted to the sandbox; verdict pending.",
    "Reimaged {host} and restored it to the network.",
)
RESOLUTION_NOTES: dict[str, tuple[str, ...]] = {
    "True Positive": (
        "Confirmed malicious activity; host contained and credentials rotated.",
        "Incident handled by IR; root cause was a phishing email.",
        "Attack stopped before impact; indicators added to the block lists.",
    ),
    "False Positive": (
        "Detection fired on an authorised administrative script.",
        "Traffic came from an approved vulnerability scanner.",
        "Behaviour matches a known software update; tuning requested.",
    ),
    "Benign": (
        "Real activity but expected: user travelling with a corporate VPN.",
        "Penetration test scheduled by the security team.",
        "Backup software behaviour; no threat.",
    ),
}
