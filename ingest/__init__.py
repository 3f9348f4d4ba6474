"""Ship ALB and S3 server access logs from S3 into OpenSearch.

Data flow, one module per step:
    events (Lambda event -> object references)
    -> reader (S3 object -> decompressed lines)
    -> formats/* (line -> document JSON, or a failure record)
    -> bulk (documents -> bulk items with deterministic index and _id)
    -> shipper (bulk items -> OpenSearch, or NDJSON files)
    -> report (per-object summary, structured log line, EMF metrics)
"""
