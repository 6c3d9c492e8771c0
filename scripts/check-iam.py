#!/usr/bin/env python3
"""Least privilege in the SAM template, checked from the template itself.

The emulator the tests run on enforces no IAM, so a grant that widens (or a grant the code
needs that disappears) would pass every other test. This reads infra/template.yaml with
cfn-lint's loader (it understands !Sub, !GetAtt, !If) and fails, naming the function and
the statement, when:

- an Allow statement of a function, a role or a bucket policy has a wildcard action
  (`s3:*`, `dynamodb:*`, `s3:Get*`, `*`), a wildcard resource, NotAction or NotResource;
- a function's S3 grants differ from BUCKET below: object actions only on the key
  prefixes the code writes and reads (never `${Bucket.Arn}/*`), s3:ListBucket only with an
  s3:prefix condition;
- a function in LEADING_KEYS has a DynamoDB statement without a
  `ForAllValues:StringLike` `dynamodb:LeadingKeys` condition, reaches an index, or its
  (action, partition) pairs differ from the table's;
- a prefix or partition in those tables is no longer built where the table says;
- a service may write to a bucket or invoke a function without `aws:SourceArn`, or SES
  may do so with any ARN but that of the template's own receipt rule.

Every statement behind an !If counts: the check covers every configuration.

Usage: scripts/check-iam.py [template]  (scripts/validate-infra runs it with the .venv)
"""

import re
import sys
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent

# What each function may do in the blob bucket, by key prefix: the prefixes are those the
# code builds its keys with (the file and text each prefix is built from are in KEY_SOURCES).
# A function not named here may not touch the bucket at all. A grant on the whole bucket
# cannot be written here: a prefix is never empty.
BUCKET = {
    "EmailInboundFunction": {
        ("s3:GetObject", "email/ses/"),  # the email the receipt rule stored
        ("s3:PutObject", "email/raw/"),  # the raw message, kept for the router and agents
        ("s3:PutObject", "email/quarantine/"),  # a note on an email with a virus
    },
    "RouterFunction": {
        ("s3:PutObject", "attachments/"),  # files fetched from the channels
        ("s3:GetObject", "email/raw/"),  # an email's files, cut from its raw message
        # A redelivered message of erased data: what was kept for it goes again.
        ("s3:DeleteObject", "attachments/"),
        ("s3:DeleteObject", "email/raw/"),
        ("s3:GetObject", "knowledge/"),  # the bot that answers first searches the index
    },
    "InboxApiFunction": {
        ("s3:GetObject", "attachments/"),  # downloads of inbound files
        ("s3:GetObject", "replies/"),  # downloads of the agents' own files
        ("s3:GetObject", "email/raw/"),  # GET /v1/messages/{id}/original
        ("s3:PutObject", "replies/"),  # the files agents attach to replies
        # The knowledge index, rebuilt when a published article changes.
        ("s3:GetObject", "knowledge/"),
        ("s3:PutObject", "knowledge/"),
        # DELETE /v1/contacts/{id}: every file of the contact's.
        ("s3:DeleteObject", "attachments/"),
        ("s3:DeleteObject", "replies/"),
        ("s3:DeleteObject", "email/raw/"),
        ("s3:DeleteObject", "calls/pbx/"),
        ("s3:DeleteObject", "calls/twilio/"),
    },
    # Retention (RetentionDays): the files of the conversations it erases.
    "SweeperFunction": {
        ("s3:DeleteObject", "attachments/"),
        ("s3:DeleteObject", "replies/"),
        ("s3:DeleteObject", "email/raw/"),
        ("s3:DeleteObject", "calls/pbx/"),
        ("s3:DeleteObject", "calls/twilio/"),
    },
    "SenderFunction": {
        ("s3:GetObject", "replies/"),  # the files a reply carries
    },
    # The help center and the contact page's suggestions search the knowledge index.
    "WebformFunction": {
        ("s3:GetObject", "knowledge/"),
    },
    "TelephonyFunction": {
        ("s3:GetObject", "calls/pbx/"),
        ("s3:PutObject", "calls/pbx/"),
        ("s3:GetObject", "calls/twilio/"),
        ("s3:PutObject", "calls/twilio/"),
        # A call not yet recorded must read as missing (404), not as forbidden (403).
        ("s3:ListBucket", "calls/pbx/"),
        ("s3:ListBucket", "calls/twilio/"),
    },
}

# Where each prefix is built: (file, text it must contain).
KEY_SOURCES = {
    "email/ses/": [("shared/src/settings/schema.rs", 'Some("email/ses/")')],
    "email/raw/": [("shared/src/channels/email/inbound.rs", 'format!("email/raw/')],
    "email/quarantine/": [("shared/src/lambda/ses.rs", 'format!("email/quarantine/')],
    "attachments/": [("shared/src/services/router.rs", 'format!("attachments/')],
    "replies/": [("shared/src/services/inbox.rs", 'format!("replies/')],
    "calls/pbx/": [("shared/src/channels/pbx/call.rs", '"calls/pbx/')],
    "calls/twilio/": [("shared/src/channels/twilio/voice.rs", '"calls/twilio/')],
    "knowledge/": [("shared/src/services/knowledge.rs", '"knowledge/index.json.gz"')],
}

# Functions whose DynamoDB access is held to partitions: (action, partition pattern)
# pairs, each granted under a ForAllValues:StringLike dynamodb:LeadingKeys condition, on
# the table only (no index).
LEADING_KEYS = {
    # A public function: the customer page's link, then the linked conversation.
    "WebformFunction": {
        ("dynamodb:GetItem", "LINK#*"),
        ("dynamodb:GetItem", "CV#*"),
        ("dynamodb:Query", "CV#*"),
        # Submission idempotency records, and pending proofs of typed addresses (with
        # the tries counted at their codes).
        ("dynamodb:GetItem", "IDEM#*"),
        ("dynamodb:PutItem", "IDEM#*"),
        ("dynamodb:PutItem", "CONFIRM#*"),
        ("dynamodb:DeleteItem", "CONFIRM#*"),
        ("dynamodb:UpdateItem", "CONFIRM#*"),
        # A survey's page checks its token with the survey key (made by the sender
        # that signs the first), and reads whether it asks the 0-10 score too.
        ("dynamodb:GetItem", "SURVEYKEY"),
        ("dynamodb:GetItem", "SURVEYS"),
        # The help center: a published article, and the day's counters of searches and
        # answers.
        ("dynamodb:GetItem", "ARTICLES"),
        ("dynamodb:UpdateItem", "KBCOUNT#*"),
    },
    # The event log: it writes its feed pages, reads the webhook subscriptions and
    # records the deliveries each change makes (it reads the stream on its own grant).
    "EventLogFunction": {
        ("dynamodb:PutItem", "FEED#*"),
        ("dynamodb:PutItem", "WHD#*"),
        ("dynamodb:Query", "WEBHOOKS"),
    },
}

# What a function reading the table's stream may do there: read it.
STREAM_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}

# Where each partition prefix is built, for those the code builds already.
PARTITION_SOURCES = {
    "LINK#": [("shared/src/aws/dynamo/keys.rs", 'format!("LINK#')],
    "CV#": [("shared/src/aws/dynamo/keys.rs", 'format!("CV#')],
    "IDEM#": [("shared/src/aws/dynamo/keys.rs", 'format!("IDEM#')],
    "CONFIRM#": [("shared/src/aws/dynamo/keys.rs", 'format!("CONFIRM#')],
    "FEED#": [("shared/src/aws/dynamo/keys.rs", 'format!("FEED#')],
    "WHD#": [("shared/src/aws/dynamo/keys.rs", 'format!("WHD#')],
    "WEBHOOKS": [("shared/src/aws/dynamo/keys.rs", 'WEBHOOKS: &str = "WEBHOOKS"')],
    "SURVEYKEY": [("shared/src/aws/dynamo/keys.rs", 'SURVEY_KEY: &str = "SURVEYKEY"')],
    "SURVEYS": [("shared/src/aws/dynamo/keys.rs", 'SURVEY_SETTINGS: &str = "SURVEYS"')],
    "ARTICLES": [("shared/src/aws/dynamo/keys.rs", 'ARTICLES: &str = "ARTICLES"')],
    "KBCOUNT#": [("shared/src/aws/dynamo/keys.rs", 'KNOWLEDGE_COUNTS: &str = "KBCOUNT#"')],
}

# The only managed policy a function's own role may carry: writing its logs.
MANAGED_POLICIES = {
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
}

# Actions that name the partition they touch, so LeadingKeys holds them (a Scan does not:
# ForAllValues over no key at all is true).
KEYED_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
}

SOURCE_ARN = "aws:sourcearn"
SOURCE_ACCOUNT = "aws:sourceaccount"
ACCOUNT = "${AWS::AccountId}"


class Failures:
    def __init__(self):
        self.lines = []

    def add(self, where, message):
        self.lines.append(f"{where}: {message}")


def alternatives(value):
    """Every value `value` may take: both branches of an !If, without AWS::NoValue."""
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        _, yes, no = value["Fn::If"]
        return alternatives(yes) + alternatives(no)
    if isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}:
        return []
    return [value]


def items(value):
    """A value that may be one item or a list, each item possibly behind an !If."""
    out = []
    for v in alternatives(value):
        for item in v if isinstance(v, list) else [v]:
            out.extend(alternatives(item))
    return out


def text(value):
    """An intrinsic as the !Sub text it stands for: GetAtt X.Arn -> ${X.Arn}, Ref X -> ${X}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Fn::Sub":
            return arg if isinstance(arg, str) else arg[0]
        if fn == "Fn::GetAtt":
            return "${%s}" % (arg if isinstance(arg, str) else ".".join(arg))
        if fn == "Ref":
            return "${%s}" % arg
    return repr(value)


def logical_id(value):
    """The resource a Ref or GetAtt X.Arn names."""
    return re.sub(r"^\$\{(\w+)(\.Arn)?\}$", r"\1", text(value))


def condition(statement):
    """The statement's condition as {(operator, lower-cased key): [values]}."""
    out = {}
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, values in keys.items():
            out[(operator, key.lower())] = [text(v) for v in items(values)]
    return out


def statements_of(document):
    return [s for s in items(document.get("Statement", [])) if isinstance(s, dict)]


def named(statement, index):
    return statement.get("Sid") or f"statement {index + 1}"


def function_statements(name, resource, resources, failures):
    """The statements a function's role allows: its SAM Policies, or its own role's."""
    props = resource.get("Properties", {})
    out = []
    role = props.get("Role")
    if role is not None:
        role_id = logical_id(role)
        if resources.get(role_id, {}).get("Type") != "AWS::IAM::Role":
            failures.add(name, f"its role {text(role)} is not a role of this template")
            return out
        role_props = resources[role_id].get("Properties", {})
        for arn in items(role_props.get("ManagedPolicyArns", [])):
            if text(arn) not in MANAGED_POLICIES:
                failures.add(name, f"its role carries the managed policy {text(arn)}")
        for policy in items(role_props.get("Policies", [])):
            out.extend(statements_of(policy.get("PolicyDocument", {})))
    for policy in items(props.get("Policies", [])):
        if isinstance(policy, dict) and "Statement" in policy:
            out.extend(statements_of(policy))
        else:
            # A managed policy or a SAM policy template grants what someone else wrote.
            shown = list(policy)[0] if isinstance(policy, dict) else text(policy)
            failures.add(name, f"policy {shown} is not a list of inline statements")
    return out


def check_general(where, statement, failures):
    """Rules for every Allow statement: no wildcard action, no wildcard resource."""
    for key in ("NotAction", "NotResource", "NotPrincipal"):
        if key in statement:
            failures.add(where, f"uses {key}")
    for action in items(statement.get("Action", [])):
        if "*" in text(action):
            failures.add(where, f"wildcard action {text(action)}")
    for resource in items(statement.get("Resource", [])):
        if text(resource) == "*":
            failures.add(where, "wildcard resource *")


def bucket_grants(where, statement, buckets, failures):
    """The (action, prefix) pairs an Allow statement grants in the buckets."""
    grants = set()
    actions = [text(a) for a in items(statement.get("Action", [])) if text(a).startswith("s3:")]
    if not actions:
        return grants
    resources = [text(r) for r in items(statement.get("Resource", []))]
    for action in actions:
        if action == "s3:ListBucket":
            prefixes = [
                v
                for (op, key), values in condition(statement).items()
                if key == "s3:prefix" and op in ("StringLike", "StringEquals")
                for v in values
            ]
            if not prefixes:
                failures.add(where, "s3:ListBucket without an s3:prefix condition lists all")
            for prefix in prefixes:
                if not re.fullmatch(r"[a-z0-9_.\-]+(/[a-z0-9_.\-]+)*/\*", prefix):
                    failures.add(where, f"s3:ListBucket on {prefix!r}: name a folder (calls/pbx/*)")
                else:
                    grants.add((action, prefix[:-1]))
            for resource in resources:
                if resource not in {"${%s.Arn}" % b for b in buckets}:
                    failures.add(where, f"s3:ListBucket on {resource}, not the bucket")
            continue
        for resource in resources:
            match = re.fullmatch(r"\$\{(\w+)\.Arn\}/(.*)", resource)
            if not match or match.group(1) not in buckets:
                failures.add(where, f"{action} on {resource}, not a folder of a bucket here")
                continue
            pattern = match.group(2)
            if not re.fullmatch(r"[a-z0-9_.\-]+(/[a-z0-9_.\-]+)*/\*", pattern):
                failures.add(
                    where,
                    f"{action} on {resource}: the whole bucket, or no folder of it"
                    " (write ${Bucket.Arn}/<prefix>/*)",
                )
                continue
            grants.add((action, pattern[:-1]))
    return grants


def table_grants(name, where, statement, tables, failures):
    """The (action, partition) pairs of a DynamoDB statement held by LeadingKeys."""
    grants = set()
    actions = [
        text(a) for a in items(statement.get("Action", [])) if text(a).startswith("dynamodb:")
    ]
    if not actions:
        return grants
    resources = [text(r) for r in items(statement.get("Resource", []))]
    # Reading the table's own change stream touches no partition of it: those grants
    # name the stream, and only the stream's read actions.
    streams = {"${%s.StreamArn}" % t for t in tables}
    if resources and all(r in streams for r in resources):
        for action in actions:
            if action not in STREAM_ACTIONS:
                failures.add(where, f"{action} on the table's stream: only its reads belong there")
        return grants
    for resource in resources:
        if resource not in {"${%s.Arn}" % t for t in tables}:
            failures.add(where, f"{name} reads no index: {resource} is not the table")
    for action in actions:
        if action not in KEYED_ACTIONS:
            failures.add(where, f"{action} names no partition: dynamodb:LeadingKeys cannot hold it")
    cond = condition(statement)
    keys = cond.get(("ForAllValues:StringLike", "dynamodb:leadingkeys"))
    if not keys:
        failures.add(
            where,
            "without a ForAllValues:StringLike dynamodb:LeadingKeys condition,"
            " a DynamoDB grant reaches every partition",
        )
        return grants
    for key in keys:
        if not re.fullmatch(r"[A-Z]+(#\*)?", key):
            failures.add(
                where,
                f"dynamodb:LeadingKeys {key!r}: name a partition prefix, as CV#*, or one partition",
            )
    return {(a, k) for a in actions for k in keys}


def compare(where, granted, expected, what, failures):
    for extra in sorted(granted - expected):
        failures.add(where, f"grants {extra[0]} on {what} {extra[1]!r}, more than the code uses")
    for missing in sorted(expected - granted):
        failures.add(where, f"lacks {missing[0]} on {what} {missing[1]!r}, which the code needs")


def check_sources(sources, failures):
    for prefix, places in sources.items():
        for path, needle in places:
            file = ROOT / path
            if not file.is_file() or needle not in file.read_text(encoding="utf-8"):
                failures.add(
                    path,
                    f"no longer builds {prefix!r} keys with {needle}:"
                    " update the template and this check",
                )


def rule_arns(resources, failures):
    """Each receipt rule's ARN as the template can write it, by the rule's logical id."""
    arns = {}
    for name, r in resources.items():
        if r.get("Type") != "AWS::SES::ReceiptRule":
            continue
        props = r.get("Properties", {})
        rule = props.get("Rule", {}).get("Name")
        if not isinstance(rule, str):
            failures.add(
                name,
                "the receipt rule needs a fixed Name, for the bucket policy and the"
                " permission to name it in aws:SourceArn",
            )
            continue
        rule_set = text(props.get("RuleSetName"))
        arns[name] = (
            "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
            f"receipt-rule-set/{rule_set}:receipt-rule/{rule}"
        )
    return arns


def check_service_access(resources, failures):
    """Services reach buckets and functions only from this template's own sources."""
    arns = rule_arns(resources, failures)
    ses_arns = set(arns.values())
    # Where each rule stores email, and which function it invokes.
    stores, invokes = {}, {}
    for name, r in resources.items():
        if r.get("Type") != "AWS::SES::ReceiptRule" or name not in arns:
            continue
        for action in items(r["Properties"]["Rule"].get("Actions", [])):
            if "S3Action" in action:
                s3 = action["S3Action"]
                bucket = logical_id(s3["BucketName"])
                stores.setdefault(bucket, []).append((name, s3.get("ObjectKeyPrefix", "")))
            if "LambdaAction" in action:
                function = logical_id(action["LambdaAction"]["FunctionArn"])
                invokes.setdefault(function, []).append(name)

    for name, r in resources.items():
        props = r.get("Properties", {})
        if r.get("Type") == "AWS::S3::BucketPolicy":
            bucket = logical_id(props.get("Bucket"))
            ses_statements = []
            for i, statement in enumerate(statements_of(props.get("PolicyDocument", {}))):
                if statement.get("Effect") != "Allow":
                    continue
                where = f"{name} {named(statement, i)}"
                check_general(where, statement, failures)
                bucket_grants(where, statement, {bucket}, failures)
                principal = statement.get("Principal", {})
                if not isinstance(principal, dict):
                    failures.add(where, f"allows principal {principal!r}")
                    continue
                services = [text(s) for s in items(principal.get("Service", []))]
                if not services:
                    continue
                cond = condition(statement)
                source_arns = cond.get(("StringEquals", SOURCE_ARN))
                if not source_arns:
                    failures.add(where, f"{', '.join(services)} may act for any aws:SourceArn")
                if cond.get(("StringEquals", SOURCE_ACCOUNT)) != [ACCOUNT]:
                    failures.add(where, "no aws:SourceAccount of this account")
                if "ses.amazonaws.com" in services:
                    ses_statements.append(statement)
                    for arn in source_arns or []:
                        if arn not in ses_arns:
                            failures.add(where, f"aws:SourceArn {arn} is no receipt rule here")
            for rule, prefix in stores.get(bucket, []):
                wanted = "${%s.Arn}/%s*" % (bucket, prefix)
                ok = any(
                    condition(s).get(("StringEquals", SOURCE_ARN)) == [arns[rule]]
                    and [text(x) for x in items(s.get("Resource", []))] == [wanted]
                    for s in ses_statements
                )
                if not ok:
                    failures.add(
                        name,
                        f"no statement lets SES store {rule}'s email at {wanted}"
                        f" with aws:SourceArn {arns[rule]}",
                    )
        if r.get("Type") == "AWS::Lambda::Permission":
            principal = text(props.get("Principal", ""))
            if not principal.endswith(".amazonaws.com"):
                continue
            if "SourceArn" not in props:
                failures.add(name, f"{principal} may invoke from any source: no SourceArn")
                continue
            function = logical_id(props.get("FunctionName"))
            if principal == "ses.amazonaws.com":
                if text(props.get("SourceAccount", "")) != ACCOUNT:
                    failures.add(name, "no SourceAccount of this account")
                rules = invokes.get(function, [])
                source_arn = text(props["SourceArn"])
                if source_arn not in {arns[rule] for rule in rules}:
                    failures.add(
                        name, f"SourceArn {source_arn} is not the receipt rule invoking {function}"
                    )
    for function, rules in invokes.items():
        for rule in rules:
            if not any(
                r.get("Type") == "AWS::Lambda::Permission"
                and text(r["Properties"].get("Principal")) == "ses.amazonaws.com"
                and logical_id(r["Properties"].get("FunctionName")) == function
                and text(r["Properties"].get("SourceArn", "")) == arns[rule]
                for r in resources.values()
            ):
                failures.add(function, f"no permission lets only {rule} invoke it")


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "infra/template.yaml"
    template, errors = decode(str(path))
    if errors or template is None:
        for e in errors:
            print(f"check-iam: {e}", file=sys.stderr)
        return 1
    resources = template.get("Resources", {})
    failures = Failures()
    buckets = {n for n, r in resources.items() if r.get("Type") == "AWS::S3::Bucket"}
    tables = {n for n, r in resources.items() if r.get("Type") == "AWS::DynamoDB::Table"}

    functions = {n: r for n, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"}
    roles_used = set()
    for name, resource in functions.items():
        role = resource.get("Properties", {}).get("Role")
        if role is not None:
            roles_used.add(logical_id(role))
        s3, dynamo = set(), set()
        for i, statement in enumerate(function_statements(name, resource, resources, failures)):
            if statement.get("Effect") != "Allow":
                continue
            where = f"{name} {named(statement, i)}"
            check_general(where, statement, failures)
            s3 |= bucket_grants(where, statement, buckets, failures)
            if name in LEADING_KEYS:
                dynamo |= table_grants(name, where, statement, tables, failures)
        compare(name, s3, BUCKET.get(name, set()), "prefix", failures)
        if name in LEADING_KEYS:
            compare(name, dynamo, LEADING_KEYS[name], "partitions", failures)
    for name in set(BUCKET) | set(LEADING_KEYS):
        if name not in functions:
            failures.add(name, "named in check-iam.py but not a function of the template")
    # Grants this check would not see.
    for name, r in resources.items():
        kind = r.get("Type")
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User"):
            failures.add(name, f"{kind} is not checked here: grant in a function's policies")
        if kind == "AWS::IAM::Role" and name not in roles_used:
            failures.add(name, "a role no function uses is not checked here")

    check_service_access(resources, failures)
    check_sources(KEY_SOURCES, failures)
    check_sources(PARTITION_SOURCES, failures)

    if failures.lines:
        for line in failures.lines:
            print(f"check-iam: {line}", file=sys.stderr)
        print(f"check-iam: {len(failures.lines)} finding(s) in {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
