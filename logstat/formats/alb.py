"""AWS Application Load Balancer (ALB) access logs.

AWS writes them to S3 as gzip files named
`<account>_elasticloadbalancing_<region>_app.<lb-name>.<lb-id>_<end-time>_<ip>_<random>.log.gz`,
one entry per line, beginning with the request type:

    http 2018-07-02T22:23:00.186641Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817
    10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" ...

(one line in the log).  Fields from `domain_name` on were added over the years;
older logs end earlier, and fields AWS appends later are ignored.

Who produced the status (`produced_by`), from `elb_status_code` (status) and
`target_status_code` (upstream_status):
- proxy: the ALB's own codes 460, 463, 464, 561 and 000; any status with no target
  status (`-`: no target reached or no answer — 502/503/504 from the ALB, a WAF 403,
  redirect and fixed-response actions, authentication 401/561, failed Lambda calls
  with an error_reason); a status that differs from the target's.
- upstream: the target's status was passed through unchanged.  This includes Lambda
  targets: their `target:port` is `-`, but a Lambda function's answer is logged as
  the target status (AWS's example: `- ... 200 200`), so it counts as the target's.
- unknown: no status was logged.
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
"""

from __future__ import annotations

from logstat.formats import aws
from logstat.formats.aws import (
    ALB_CONNECTION_ENTRY,
    ALB_TYPES,
    COUNT,
    DURATION,
    ELB_ENTRY,
    ISO_TIME,
    NLB_ENTRY,
    STATUS,
    Column,
    Field,
    FieldLayout,
    Reason,
)

# Status codes only the load balancer itself writes.
ALB_OWN_CODES = (0, 460, 463, 464, 561)

PROCESSING_TIMES = ("request_processing_time", "target_processing_time", "response_processing_time")

FIELDS = (
    Field("type", aws.ALB_TYPE),
    Field("time", ISO_TIME),
    Field("elb"),
    Field("client"),
    Field("target"),
    *(Field(name, DURATION) for name in PROCESSING_TIMES),
    Field("elb_status_code", STATUS),
    Field("target_status_code", STATUS),
    Field("received_bytes", COUNT),
    Field("sent_bytes", COUNT),
    Field("request", quoting="quoted", shape=aws.REQUEST_SHAPE, raw_quotes="anywhere"),
    Field("user_agent", quoting="quoted", raw_quotes="anywhere"),
    Field("ssl_cipher", aws.SSL_CIPHER),
    Field("ssl_protocol", aws.SSL_NAME),
    Field("target_group_arn", aws.ARN),
    Field("trace_id", quoting="either"),
    # Every entry since the ALB launched (2016) has the fields above; these came later.
    Field("domain_name", quoting="either"),
    Field("chosen_cert_arn", quoting="either"),
    Field("matched_rule_priority", aws.RULE_PRIORITY),
    Field("request_creation_time", f"{ISO_TIME}|-"),
    Field("actions_executed", aws.ACTIONS, quoting="either"),
    Field("redirect_url", quoting="either", raw_quotes="inside"),
    Field("error_reason", aws.WORD, quoting="either"),
    Field("target_port_list", aws.TARGETS, quoting="either"),
    Field("target_status_code_list", aws.STATUSES, quoting="either"),
    Field("classification", aws.WORD, quoting="either"),
    Field("classification_reason", aws.WORD, quoting="either"),
    Field("conn_trace_id", aws.PLAIN),
    Field("transformed_host", quoting="either", raw_quotes="inside"),
    Field("transformed_uri", quoting="either", raw_quotes="inside"),
    Field("request_transform_status", quoting="either"),
)
REQUIRED = 17  # type .. trace_id


OUTPUT: dict[str, Column] = {
    "timestamp": aws.column(aws.timestamp, "time"),
    "client_ip": aws.column(aws.address, "client"),
    "host": aws.host_or_request_host("domain_name"),
    **aws.request_columns(),
    "status": aws.column(aws.status_code, "elb_status_code"),
    "upstream_status": aws.column(aws.status_code, "target_status_code"),
    "upstream_status_list": aws.string("target_status_code_list"),
    "error_reason": aws.string("error_reason"),
    "classification": aws.string("classification"),
    "bytes_sent": aws.column(aws.byte_count, "sent_bytes"),
    "request_time_s": aws.total_seconds(PROCESSING_TIMES),
    "user_agent": aws.string("user_agent"),
    # ALB-only fields, kept as extra columns under AWS's names
    "request_type": aws.string("type"),
    "load_balancer": aws.string("elb"),
    "target": aws.string("target"),
    "target_list": aws.string("target_port_list"),
    "bytes_received": aws.column(aws.byte_count, "received_bytes"),
    **{f"{name}_s": aws.column(aws.seconds, name) for name in PROCESSING_TIMES},
    "ssl_cipher": aws.string("ssl_cipher"),
    "ssl_protocol": aws.string("ssl_protocol"),
    "target_group_arn": aws.string("target_group_arn"),
    "trace_id": aws.string("trace_id"),
    "chosen_cert_arn": aws.string("chosen_cert_arn"),
    # 0 is the default rule, -1 a rule-evaluation error: both are kept
    "matched_rule_priority": aws.column(aws.integer, "matched_rule_priority"),
    "request_creation_time": aws.column(aws.timestamp, "request_creation_time"),
    "actions_executed": aws.string("actions_executed"),
    "redirect_url": aws.string("redirect_url"),
    "classification_reason": aws.string("classification_reason"),
    "conn_trace_id": aws.string("conn_trace_id"),
    "transformed_host": aws.string("transformed_host"),
    "transformed_uri": aws.string("transformed_uri"),
    "request_transform_status": aws.string("request_transform_status"),
}

REASONS = (
    Reason(NLB_ENTRY, "network load balancer (NLB) entry, not an ALB access entry"),
    Reason(ELB_ENTRY, "classic ELB entry (no request type first): read it with --format elb"),
    Reason(ALB_CONNECTION_ENTRY, "ALB connection log entry (TLS handshake, no HTTP status)"),
    Reason(
        aws.too_few_fields(aws.ALB_ENTRY, REQUIRED),
        f"too few fields for an ALB entry (at least {REQUIRED})",
    ),
    Reason(aws.ALB_ENTRY, "ALB entry with a malformed field"),
    Reason(
        rf"^\S+ {ISO_TIME} ",
        f"unknown ALB request type (known: {', '.join(ALB_TYPES)})",
    ),
)

LAYOUT = FieldLayout(
    source="alb",
    title="AWS ALB access log",
    fields=FIELDS,
    required=REQUIRED,
    output=OUTPUT,
    reasons=REASONS,
    fallback_reason="not an ALB access log entry",
)

FORMAT = aws.fixed_format(
    name="alb",
    title="AWS Application Load Balancer access log",
    vendors=("alb",),
    layout=LAYOUT,
    own_codes=ALB_OWN_CODES,
)
