"""MITRE ATT&CK tactics and techniques, and the detections that fire for them in the demo data.

Tactic and technique ids and names are real MITRE ATT&CK Enterprise entries; the Stellar Cyber XDR Kill
Chain stage of each tactic follows Stellar's published mapping. Detection names and vendors are made up
but shaped like what a SOC sees.
"""

from __future__ import annotations

from dataclasses import dataclass

TACTICS: dict[str, str] = {
    "TA0043": "Reconnaissance",
    "TA0042": "Resource Development",
    "TA0001": "Initial Access",
    "TA0002": "Execution",
    "TA0003": "Persistence",
    "TA0004": "Privilege Escalation",
    "TA0005": "Defense Evasion",
    "TA0006": "Credential Access",
    "TA0007": "Discovery",
    "TA0008": "Lateral Movement",
    "TA0009": "Collection",
    "TA0011": "Command and Control",
    "TA0010": "Exfiltration",
    "TA0040": "Impact",
}

KILL_CHAIN_STAGE: dict[str, str] = {
    "TA0043": "Initial Attempts",
    "TA0042": "Initial Attempts",
    "TA0001": "Initial Attempts",
    "TA0002": "Persistent Foothold",
    "TA0003": "Persistent Foothold",
    "TA0005": "Persistent Foothold",
    "TA0011": "Persistent Foothold",
    "TA0004": "Exploration",
    "TA0006": "Exploration",
    "TA0007": "Exploration",
    "TA0008": "Propagation",
    "TA0009": "Exfiltration & Impact",
    "TA0010": "Exfiltration & Impact",
    "TA0040": "Exfiltration & Impact",
}

VENDORS: dict[str, str] = {
    "proofpoint_tap": "Proofpoint TAP",
    "defender_o365": "Microsoft Defender for Office 365",
    "imperva_waf": "Imperva WAF",
    "f5_asm": "F5 Advanced WAF",
    "entra_id": "Microsoft Entra ID",
    "okta": "Okta",
    "fortigate": "Fortinet FortiGate",
    "palo_alto": "Palo Alto Networks NGFW",
    "crowdstrike": "CrowdStrike Falcon",
    "sentinelone": "SentinelOne",
    "defender_endpoint": "Microsoft Defender for Endpoint",
    "windows_event": "Windows Security Events",
    "stellar_sensor": "Stellar Cyber Network Sensor",
    "office365": "Microsoft 365",
    "zscaler": "Zscaler Internet Access",
    "netskope": "Netskope",
}


@dataclass(frozen=True)
class Detection:
    """One detection rule that can fire for a technique."""

    name: str  # xdr_event.name
    display_name: str
    source: str  # key of VENDORS
    category: str  # endpoint | network | email | identity


@dataclass(frozen=True)
class Technique:
    tactic_id: str
    technique_id: str
    technique_name: str
    # Direction of the traffic: inbound (outside -> victim), outbound (victim -> outside),
    # internal (victim -> another internal host) or local (on the victim host itself).
    kind: str
    detections: tuple[Detection, ...]
    processes: tuple[str, ...] = ()
    port: int = 443
    app: str = "https"

    @property
    def tactic_name(self) -> str:
        return TACTICS[self.tactic_id]


def _t(tactic: str, tid: str, name: str, kind: str, dets: list[tuple[str, str, str, str]], **kw) -> Technique:
    return Technique(tactic, tid, name, kind, tuple(Detection(*d) for d in dets), **kw)


TECHNIQUES: dict[str, Technique] = {
    t.technique_id: t
    for t in [
        _t("TA0043", "T1595", "Active Scanning", "inbound", [
            ("external_port_scan", "External Port Scan", "fortigate", "network"),
            ("external_vuln_scan", "External Vulnerability Scan", "palo_alto", "network"),
        ], port=22, app="ssh"),
        _t("TA0001", "T1566", "Phishing", "inbound", [
            ("phishing_url", "Phishing URL", "proofpoint_tap", "email"),
            ("malicious_attachment", "Malicious Email Attachment", "defender_o365", "email"),
        ], port=25, app="smtp"),
        _t("TA0001", "T1190", "Exploit Public-Facing Application", "inbound", [
            ("web_exploit_attempt", "Exploit Attempt on Public-Facing Application", "imperva_waf", "network"),
            ("sql_injection", "SQL Injection Attempt", "f5_asm", "network"),
        ]),
        _t("TA0001", "T1078", "Valid Accounts", "inbound", [
            ("impossible_travel", "Impossible Travel Login", "entra_id", "identity"),
            ("bad_reputation_login", "Bad Reputation Login", "okta", "identity"),
        ]),
        _t("TA0001", "T1133", "External Remote Services", "inbound", [
            ("vpn_login_anomaly", "Anomalous VPN Login", "fortigate", "identity"),
        ]),
        _t("TA0002", "T1059", "Command and Scripting Interpreter", "local", [
            ("encoded_powershell", "Encoded PowerShell Command", "crowdstrike", "endpoint"),
            ("suspicious_script", "Suspicious Script Execution", "sentinelone", "endpoint"),
        ], processes=("powershell.exe", "cmd.exe", "wscript.exe", "mshta.exe")),
        _t("TA0002", "T1204", "User Execution", "local", [
            ("office_spawned_shell", "Office Application Spawned Shell", "defender_endpoint", "endpoint"),
        ], processes=("WINWORD.EXE", "EXCEL.EXE", "OUTLOOK.EXE")),
        _t("TA0002", "T1047", "Windows Management Instrumentation", "internal", [
            ("remote_wmi_exec", "Remote WMI Execution", "windows_event", "endpoint"),
        ], processes=("wmic.exe", "WmiPrvSE.exe"), port=135, app="msrpc"),
        _t("TA0003", "T1053", "Scheduled Task/Job", "local", [
            ("suspicious_scheduled_task", "Suspicious Scheduled Task Created", "windows_event", "endpoint"),
        ], processes=("schtasks.exe",)),
        _t("TA0003", "T1547", "Boot or Logon Autostart Execution", "local", [
            ("registry_run_key", "Registry Run Key Persistence", "sentinelone", "endpoint"),
        ], processes=("reg.exe", "powershell.exe")),
        _t("TA0003", "T1136", "Create Account", "local", [
            ("new_privileged_account", "New Privileged Account Created", "windows_event", "identity"),
        ], processes=("net.exe",)),
        _t("TA0003", "T1505", "Server Software Component", "local", [
            ("web_shell", "Web Shell Detected", "crowdstrike", "endpoint"),
        ], processes=("w3wp.exe", "httpd")),
        _t("TA0004", "T1068", "Exploitation for Privilege Escalation", "local", [
            ("priv_esc_exploit", "Privilege Escalation Exploit", "crowdstrike", "endpoint"),
        ], processes=("spoolsv.exe",)),
        _t("TA0005", "T1562", "Impair Defenses", "local", [
            ("security_tool_disabled", "Security Tool Disabled", "sentinelone", "endpoint"),
        ], processes=("sc.exe", "powershell.exe")),
        _t("TA0005", "T1070", "Indicator Removal", "local", [
            ("event_log_cleared", "Windows Event Log Cleared", "windows_event", "endpoint"),
        ], processes=("wevtutil.exe",)),
        _t("TA0005", "T1027", "Obfuscated Files or Information", "local", [
            ("obfuscated_payload", "Obfuscated Payload Detected", "crowdstrike", "endpoint"),
        ], processes=("certutil.exe",)),
        _t("TA0006", "T1110", "Brute Force", "inbound", [
            ("brute_force_success", "Brute-Forced Successful User Login", "entra_id", "identity"),
            ("password_spray", "Password Spray Attack", "okta", "identity"),
        ]),
        _t("TA0006", "T1003", "OS Credential Dumping", "local", [
            ("lsass_memory_access", "LSASS Memory Access", "crowdstrike", "endpoint"),
            ("credential_dumping_tool", "Credential Dumping Tool Detected", "sentinelone", "endpoint"),
        ], processes=("rundll32.exe", "procdump64.exe", "mimikatz.exe")),
        _t("TA0006", "T1558", "Steal or Forge Kerberos Tickets", "internal", [
            ("kerberoasting", "Kerberoasting Activity", "windows_event", "identity"),
        ], port=88, app="kerberos"),
        _t("TA0007", "T1046", "Network Service Discovery", "internal", [
            ("internal_port_scan", "Internal Port Scan", "stellar_sensor", "network"),
        ], port=445, app="smb"),
        _t("TA0007", "T1087", "Account Discovery", "local", [
            ("domain_account_enumeration", "Domain Account Enumeration", "windows_event", "identity"),
        ], processes=("net.exe", "AdFind.exe")),
        _t("TA0007", "T1018", "Remote System Discovery", "internal", [
            ("internal_host_sweep", "Internal Host Sweep", "stellar_sensor", "network"),
        ], port=135, app="msrpc"),
        _t("TA0008", "T1021", "Remote Services", "internal", [
            ("unusual_rdp_connection", "Unusual RDP Connection", "stellar_sensor", "network"),
            ("smb_lateral_movement", "SMB Lateral Movement", "stellar_sensor", "network"),
        ], port=3389, app="rdp"),
        _t("TA0008", "T1570", "Lateral Tool Transfer", "internal", [
            ("psexec_service_installed", "PsExec Service Installed", "windows_event", "endpoint"),
        ], processes=("PSEXESVC.exe",), port=445, app="smb"),
        _t("TA0008", "T1210", "Exploitation of Remote Services", "internal", [
            ("smb_exploit_attempt", "SMB Exploit Attempt", "stellar_sensor", "network"),
        ], port=445, app="smb"),
        _t("TA0009", "T1560", "Archive Collected Data", "local", [
            ("data_staged_in_archive", "Data Staged in Archive", "crowdstrike", "endpoint"),
        ], processes=("7z.exe", "rar.exe")),
        _t("TA0009", "T1114", "Email Collection", "inbound", [
            ("mailbox_forwarding_rule", "Suspicious Mailbox Forwarding Rule", "office365", "email"),
        ]),
        _t("TA0011", "T1071", "Application Layer Protocol", "outbound", [
            ("beaconing_rare_domain", "Periodic Beaconing to Rare Domain", "stellar_sensor", "network"),
            ("malicious_domain_connection", "Connection to Malicious Domain", "palo_alto", "network"),
        ]),
        _t("TA0011", "T1568", "Dynamic Resolution", "outbound", [
            ("dga_domain_lookup", "DGA Domain Lookup", "stellar_sensor", "network"),
        ], port=53, app="dns"),
        _t("TA0011", "T1105", "Ingress Tool Transfer", "outbound", [
            ("suspicious_tool_download", "Suspicious Tool Download", "zscaler", "network"),
        ], processes=("certutil.exe", "bitsadmin.exe", "curl")),
        _t("TA0011", "T1572", "Protocol Tunneling", "outbound", [
            ("dns_tunneling", "DNS Tunneling", "stellar_sensor", "network"),
        ], port=53, app="dns"),
        _t("TA0010", "T1041", "Exfiltration Over C2 Channel", "outbound", [
            ("large_upload_to_c2", "Large Upload to C2 Server", "stellar_sensor", "network"),
        ]),
        _t("TA0010", "T1048", "Exfiltration Over Alternative Protocol", "outbound", [
            ("ftp_exfiltration", "Data Exfiltration over FTP", "fortigate", "network"),
        ], port=21, app="ftp"),
        _t("TA0010", "T1567", "Exfiltration Over Web Service", "outbound", [
            ("cloud_storage_upload", "Unusual Upload to Cloud Storage", "netskope", "network"),
        ], processes=("rclone.exe",)),
        _t("TA0040", "T1486", "Data Encrypted for Impact", "local", [
            ("ransomware_file_encryption", "Ransomware File Encryption", "sentinelone", "endpoint"),
            ("mass_file_rename", "Mass File Rename with Ransom Extension", "crowdstrike", "endpoint"),
        ], processes=("svchost32.exe", "locker.exe", "update_x64.exe")),
        _t("TA0040", "T1490", "Inhibit System Recovery", "local", [
            ("shadow_copy_deletion", "Volume Shadow Copy Deletion", "defender_endpoint", "endpoint"),
        ], processes=("vssadmin.exe", "wbadmin.exe", "bcdedit.exe")),
        _t("TA0040", "T1489", "Service Stop", "local", [
            ("backup_service_stopped", "Backup Service Stopped", "windows_event", "endpoint"),
        ], processes=("net.exe", "taskkill.exe")),
        _t("TA0040", "T1496", "Resource Hijacking", "outbound", [
            ("cryptominer_activity", "Cryptocurrency Miner Activity", "stellar_sensor", "network"),
        ], processes=("xmrig", "kdevtmpfsi"), port=3333, app="stratum"),
    ]
}
