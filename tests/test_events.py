"""What ingest.events makes of every event shape that can reach the Lambda."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from urllib.parse import quote_plus

from ingest.events import EventMessage, ObjectRef, is_sqs_batch, parse_event

FIXTURES = Path(__file__).parent / "events"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture(name: str) -> dict:
    return json.loads(fixture_text(name))


def s3_put(key: str = "HappyFace.jpg", size: int = 1024, bucket: str = "mybucket", event_name: str = "ObjectCreated:Put") -> dict:
    """The documented ObjectCreated:Put notification with one record changed."""
    event = fixture("s3_object_created_put.json")
    record = event["Records"][0]
    record["eventName"] = event_name
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"]["key"] = key
    record["s3"]["object"]["size"] = size
    return event


def with_records(*events: dict) -> dict:
    return {"Records": [record for event in events for record in event["Records"]]}


def sqs_batch(*bodies: str) -> dict:
    records = []
    for number, body in enumerate(bodies):
        record = fixture("sqs_message.json")
        record["messageId"] = f"msg-{number}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def sns_envelope(message: str) -> str:
    notification = fixture("sns_notification.json")
    notification["Message"] = message
    return json.dumps(notification)


def sns_lambda_event(message: str) -> dict:
    record = fixture("sns_lambda_record.json")
    record["Sns"]["Message"] = message
    return {"Records": [record]}


HAPPY_FACE = ObjectRef(bucket="mybucket", key="HappyFace.jpg", size=1024, version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko")
EXAMPLE_KEY = ObjectRef(
    bucket="DOC-EXAMPLE-BUCKET1", key="example-key", size=5, version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
)


# --- direct S3 invoke -------------------------------------------------------------------------------


def test_documented_put_notification_yields_its_object():
    [message] = parse_event(fixture("s3_object_created_put.json"))
    assert message == EventMessage(message_id=None, objects=[HAPPY_FACE], skipped=[], error=None)
    assert HAPPY_FACE.uri == "s3://mybucket/HappyFace.jpg"


def test_direct_notification_with_several_records_yields_every_object_in_order():
    event = with_records(s3_put("a.log.gz"), s3_put("b.log.gz"), s3_put("c.log.gz"))
    [message] = parse_event(event)
    assert [ref.key for ref in message.objects] == ["a.log.gz", "b.log.gz", "c.log.gz"]


def test_form_encoded_key_is_decoded_plus_as_space_and_percent_2b_as_plus():
    [message] = parse_event(s3_put("red+flower%2B1.jpg"))
    assert message.objects[0].key == "red flower+1.jpg"


def test_key_is_decoded_exactly_once():
    # "%2525" is the encoding of the literal text "%25": decoding twice would yield "%".
    [message] = parse_event(s3_put("logs/100%2525+done.gz"))
    assert message.objects[0].key == "logs/100%25 done.gz"


LOG_KEYS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1).filter(
    lambda k: not k.endswith(("/", "ELBAccessLogTestFile"))  # those are skipped on purpose
)


@given(LOG_KEYS)
def test_any_key_survives_the_s3_encoding_round_trip(key):
    # S3 encodes keys like quote_plus (spaces as "+", "/" kept); whatever the key, we get it back.
    [message] = parse_event(s3_put(quote_plus(key, safe="/")))
    [ref] = message.objects
    assert ref.key == key


def test_uri_holds_the_decoded_key():
    [message] = parse_event(s3_put("AWSLogs/123/elasticloadbalancing/eu-west-1/2024/01/31/my+file.log.gz"))
    assert message.objects[0].uri == "s3://mybucket/AWSLogs/123/elasticloadbalancing/eu-west-1/2024/01/31/my file.log.gz"


def test_s3_test_event_invoked_directly_is_skipped():
    [message] = parse_event(fixture("s3_test_event.json"))
    assert message.objects == [] and message.skipped == ["s3:TestEvent"] and message.error is None


def test_non_created_events_are_skipped_with_their_name():
    [message] = parse_event(s3_put("old.log", event_name="ObjectRemoved:Delete"))
    assert message.objects == []
    assert message.skipped == ["ObjectRemoved:Delete s3://mybucket/old.log"]


@pytest.mark.parametrize(
    ("key", "size", "reason"),
    [
        ("logs/", 0, "folder key s3://mybucket/logs/"),
        ("logs/empty.log.gz", 0, "zero-size object s3://mybucket/logs/empty.log.gz"),
        (
            "AWSLogs/123456789012/ELBAccessLogTestFile",
            72,
            "ELBAccessLogTestFile s3://mybucket/AWSLogs/123456789012/ELBAccessLogTestFile",
        ),
    ],
)
def test_objects_that_hold_no_log_lines_are_skipped_with_a_reason(key, size, reason):
    [message] = parse_event(s3_put(key, size=size))
    assert message.objects == [] and message.skipped == [reason] and message.error is None


def test_skips_do_not_hide_the_other_objects_of_the_same_notification():
    [message] = parse_event(with_records(s3_put("logs/", size=0), s3_put("real.log.gz")))
    assert [ref.key for ref in message.objects] == ["real.log.gz"]
    assert message.skipped == ["folder key s3://mybucket/logs/"]


def test_size_absent_from_the_record_is_none_and_the_object_is_kept():
    event = s3_put("x.log")
    del event["Records"][0]["s3"]["object"]["size"]
    [message] = parse_event(event)
    assert message.objects == [ObjectRef("mybucket", "x.log", None, "096fKKXTRTtl3on89fVO.nfljtsv6qko")]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"hello": "world"},
        {"Records": []},
        {"Records": [{"eventSource": "aws:dynamodb"}]},
        {"detail-type": "Object Created", "source": "aws.ec2"},
    ],
    ids=["empty", "unrelated", "no-records", "other-source", "other-eventbridge-source"],
)
def test_directly_invoked_event_of_unknown_shape_raises_a_clear_error(event):
    with pytest.raises(ValueError, match="unrecognised Lambda event"):
        parse_event(event)


def test_directly_invoked_record_without_a_bucket_raises_naming_the_field():
    event = s3_put("x.log")
    del event["Records"][0]["s3"]["bucket"]["name"]
    with pytest.raises(ValueError, match=r"Records\[0\]: s3.bucket.name is missing"):
        parse_event(event)


def test_unsupported_event_version_is_refused():
    event = s3_put("x.log")
    event["Records"][0]["eventVersion"] = "3.0"
    with pytest.raises(ValueError, match="unsupported eventVersion '3.0'"):
        parse_event(event)


# --- SQS --------------------------------------------------------------------------------------------


def test_is_sqs_batch_recognises_only_sqs_records():
    assert is_sqs_batch(sqs_batch(fixture_text("s3_object_created_put.json")))
    assert not is_sqs_batch(fixture("s3_object_created_put.json"))
    assert not is_sqs_batch(fixture("eventbridge_object_created.json"))
    assert not is_sqs_batch({"Records": []})


def test_sqs_body_holding_the_documented_notification_yields_its_object_with_the_message_id():
    [message] = parse_event(sqs_batch(fixture_text("s3_object_created_put.json")))
    assert message == EventMessage(message_id="msg-0", objects=[HAPPY_FACE], skipped=[], error=None)


def test_sqs_body_with_several_s3_records_yields_them_all_in_one_message():
    body = json.dumps(with_records(s3_put("a.gz"), s3_put("b.gz")))
    [message] = parse_event(sqs_batch(body))
    assert [ref.key for ref in message.objects] == ["a.gz", "b.gz"]


def test_sqs_batch_yields_one_message_per_sqs_record():
    messages = parse_event(sqs_batch(json.dumps(s3_put("a.gz")), json.dumps(s3_put("b.gz"))))
    assert [(m.message_id, [r.key for r in m.objects]) for m in messages] == [("msg-0", ["a.gz"]), ("msg-1", ["b.gz"])]


def test_sqs_body_key_is_decoded_once():
    [message] = parse_event(sqs_batch(json.dumps(s3_put("red+flower%2B1.jpg"))))
    assert message.objects[0].key == "red flower+1.jpg"


def test_s3_test_event_in_an_sqs_body_is_skipped_not_failed():
    [message] = parse_event(sqs_batch(fixture_text("s3_test_event.json")))
    assert message.message_id == "msg-0"
    assert message.skipped == ["s3:TestEvent"] and message.objects == [] and message.error is None


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("this is not json", "body is not JSON"),
        ('{"hello": "world"}', "not an S3 event notification"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"Records": "nope"}', "Records is empty or not a list"),
        (json.dumps({"Records": [{"eventSource": "aws:s3", "eventVersion": "2.1", "s3": {}}]}), "s3.bucket.name is missing"),
    ],
)
def test_unknown_sqs_body_sets_an_error_on_that_message_only(body, why):
    good = json.dumps(s3_put("good.gz"))
    first, bad, last = parse_event(sqs_batch(good, body, good))
    assert first.error is None and last.error is None
    assert [r.key for r in first.objects] == ["good.gz"] == [r.key for r in last.objects]
    assert bad.failed and bad.objects == []
    assert bad.error.startswith("SQS message msg-1: ") and why in bad.error


def test_error_message_does_not_echo_the_body():
    [message] = parse_event(sqs_batch("password=hunter2 is not json"))
    assert "hunter2" not in message.error


def test_malformed_record_fails_the_message_but_keeps_the_good_objects_of_the_same_body():
    broken = s3_put("broken.gz")
    del broken["Records"][0]["s3"]["object"]["key"]
    [message] = parse_event(sqs_batch(json.dumps(with_records(s3_put("good.gz"), broken))))
    assert message.error is not None and "Records[1]: s3.object.key is missing" in message.error
    assert [r.key for r in message.objects] == ["good.gz"]


# --- SNS --------------------------------------------------------------------------------------------


def test_sns_to_sqs_without_raw_delivery_unwraps_the_sns_message():
    [message] = parse_event(sqs_batch(sns_envelope(fixture_text("s3_object_created_put.json"))))
    assert message.message_id == "msg-0" and message.objects == [HAPPY_FACE] and message.error is None


def test_sns_to_sqs_with_raw_delivery_reads_the_body_as_the_s3_notification():
    # Raw delivery: the body is the S3 JSON itself, identical to S3 -> SQS.
    [message] = parse_event(sqs_batch(fixture_text("s3_object_created_put.json")))
    assert message.objects == [HAPPY_FACE]


def test_s3_test_event_through_sns_to_sqs_is_skipped():
    [message] = parse_event(sqs_batch(sns_envelope(fixture_text("s3_test_event.json"))))
    assert message.skipped == ["s3:TestEvent"] and message.error is None


def test_sns_envelope_whose_message_is_not_json_fails_that_message():
    [message] = parse_event(sqs_batch(sns_envelope("Hello from SNS!")))
    assert message.error is not None and "SNS Message is not JSON" in message.error


def test_sns_invoking_the_function_directly_yields_the_objects():
    [message] = parse_event(sns_lambda_event(json.dumps(s3_put("red+flower%2B1.jpg"))))
    assert message.message_id is None
    assert [r.key for r in message.objects] == ["red flower+1.jpg"]


def test_sns_invoking_directly_with_a_foreign_message_raises():
    with pytest.raises(ValueError, match="unrecognised SNS message 95df01b4"):
        parse_event(sns_lambda_event("Hello from SNS!"))


# --- EventBridge ------------------------------------------------------------------------------------


def test_documented_eventbridge_object_created_yields_its_object():
    [message] = parse_event(fixture("eventbridge_object_created.json"))
    assert message == EventMessage(message_id=None, objects=[EXAMPLE_KEY], skipped=[], error=None)


def test_eventbridge_event_as_an_sqs_body_yields_its_object():
    [message] = parse_event(sqs_batch(fixture_text("eventbridge_object_created.json")))
    assert message.message_id == "msg-0" and message.objects == [EXAMPLE_KEY]


def test_eventbridge_key_is_form_decoded_and_the_raw_key_kept_as_fallback():
    event = fixture("eventbridge_object_created.json")
    event["detail"]["object"]["key"] = "red+flower%2B1.jpg"
    [message] = parse_event(event)
    [ref] = message.objects
    assert ref.key == "red flower+1.jpg"
    assert ref.fallback_key == "red+flower%2B1.jpg"


def test_eventbridge_key_without_encoded_characters_has_no_fallback():
    [message] = parse_event(fixture("eventbridge_object_created.json"))
    assert message.objects[0].fallback_key is None


def test_eventbridge_other_detail_types_are_skipped():
    event = fixture("eventbridge_object_created.json")
    event["detail-type"] = "Object Deleted"
    [message] = parse_event(event)
    assert message.objects == [] and message.skipped == ["Object Deleted s3://DOC-EXAMPLE-BUCKET1/example-key"]


def test_eventbridge_zero_size_object_is_skipped():
    event = fixture("eventbridge_object_created.json")
    event["detail"]["object"]["size"] = 0
    [message] = parse_event(event)
    assert message.skipped == ["zero-size object s3://DOC-EXAMPLE-BUCKET1/example-key"]


def test_parsing_does_not_modify_the_event():
    event = sqs_batch(sns_envelope(fixture_text("s3_object_created_put.json")))
    before = copy.deepcopy(event)
    parse_event(event)
    assert event == before


# --- notifications as moto's S3 emits them ----------------------------------------------------------


def test_notification_sent_by_s3_to_sqs_round_trips_a_key_with_space_and_plus():
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        s3.create_bucket(Bucket="logs-bucket")
        queue_url = sqs.create_queue(QueueName="log-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket="logs-bucket",
            NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]},
        )
        s3.put_object(Bucket="logs-bucket", Key="team a/red flower+1.log.gz", Body=b"x" * 10)
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]

    # What the Lambda event source mapping hands over: one record per received message.
    event = sqs_batch(*[m["Body"] for m in received])
    messages = parse_event(event)
    objects = [ref for m in messages for ref in m.objects]
    assert all(m.error is None for m in messages)
    assert objects == [ObjectRef("logs-bucket", "team a/red flower+1.log.gz", size=10)]


def test_a_continuation_message_names_the_rest_of_an_object_and_where_to_resume():
    from ingest.events import continuation_body

    body = continuation_body("logs", "a b/k.log", {"line": 1200, "etag": '"abc"', "part": 2}, "items throttled (429) for 4 min")
    [message] = parse_event({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": body,
                                          "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q"}]})

    assert message.error is None and message.queue_arn == "arn:aws:sqs:us-east-1:123456789012:q"
    [ref] = message.objects
    assert (ref.bucket, ref.key) == ("logs", "a b/k.log")  # not form-encoded: written and read by the function
    assert ref.resume == {"line": 1200, "etag": '"abc"', "part": 2}


def test_a_continuation_with_a_bad_line_is_a_message_not_understood():
    [message] = parse_event({"Records": [{"eventSource": "aws:sqs", "messageId": "m1",
                                          "body": '{"continue": {"bucket": "b", "key": "k", "line": -1}}'}]})
    assert message.error and "continue.line" in message.error and message.objects == []


def continuation_message(body: str) -> EventMessage:
    [message] = parse_event({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": body}]})
    return message


def test_a_continuation_is_one_compact_json_line_whose_why_is_for_people_only():
    from ingest.events import continuation_body

    body = continuation_body("logs", "k.log", {"line": 4, "part": 1}, "time ran out")

    assert body == '{"continue":{"bucket":"logs","key":"k.log","line":4,"part":1},"why":"time ran out"}'
    assert continuation_body("logs", "k.log", {"line": 4, "part": 1}) == '{"continue":{"bucket":"logs","key":"k.log","line":4,"part":1}}'


def test_a_continuation_carries_every_resume_field_back_and_reads_the_version_it_names():
    from ingest.events import continuation_body

    resume = {"line": 8, "version_id": "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY", "first_time": "2026-11-25T12:00:00.000000Z",
              "last_time": "2026-11-25T12:00:07.000000Z", "part": 3, "done_after": "eJxjBAAAAgAC"}

    [ref] = continuation_message(continuation_body("logs", "k.log", resume)).objects

    assert ref.resume == resume and ref.version_id == "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"


def test_a_continuation_without_a_part_is_the_first_part_and_line_0_is_a_start():
    [ref] = continuation_message('{"continue": {"bucket": "b", "key": "k", "line": 0}}').objects
    assert ref.resume == {"line": 0, "part": 1}


@pytest.mark.parametrize("body, complaint", [
    ('{"continue": ["b", "k", 4]}', "continue is list, expected an object"),
    ('{"continue": {"bucket": "", "key": "k", "line": 4}}', "continue.bucket and continue.key must be non-empty strings"),
    ('{"continue": {"bucket": "b", "key": "", "line": 4}}', "continue.bucket and continue.key must be non-empty strings"),
    ('{"continue": {"key": "k", "line": 4}}', "continue.bucket and continue.key must be non-empty strings"),
    ('{"continue": {"bucket": "b", "key": 7, "line": 4}}', "continue.bucket and continue.key must be non-empty strings"),
    ('{"continue": {"bucket": "b", "key": "k", "line": "4"}}', "continue.line is '4', expected a non-negative integer"),
    ('{"continue": {"bucket": "b", "key": "k", "line": true}}', "continue.line is True, expected a non-negative integer"),
    ('{"continue": {"bucket": "b", "key": "k", "line": 4, "part": 0}}', "continue.part is 0, expected a positive integer"),
    ('{"continue": {"bucket": "b", "key": "k", "line": 4, "part": "2"}}', "continue.part is '2', expected a positive integer"),
    ('{"continue": {"bucket": "b", "key": "k", "line": 4, "part": true}}', "continue.part is True, expected a positive integer"),
    ('{"continue": {"bucket": "b", "key": "k", "line": 4, "etag": 5}}', "continue.etag is 5, expected a string"),
], ids=["not-an-object", "empty-bucket", "empty-key", "no-bucket", "key-not-text", "line-as-text", "line-true",
        "part-0", "part-as-text", "part-true", "etag-not-text"])
def test_a_continuation_of_the_wrong_shape_is_a_message_not_understood_saying_what_is_wrong(body, complaint):
    message = continuation_message(body)
    assert message.error == f"SQS message m1: {complaint}" and message.objects == []


def test_a_continuation_that_lists_part_1_explicitly_is_still_the_first_part():
    [ref] = continuation_message('{"continue": {"bucket": "b", "key": "k", "line": 1, "part": 1}}').objects
    assert ref.resume == {"line": 1, "part": 1}


def test_a_message_from_a_queue_of_unknown_origin_has_no_queue_to_hand_on_to():
    [message] = parse_event({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "eventSourceARN": 42,
                                          "body": '{"continue": {"bucket": "b", "key": "k", "line": 4}}'}]})
    assert message.error is None and message.queue_arn is None


# --- mixed and borderline shapes ----------------------------------------------------------------------


def sns_record(message: str) -> dict:
    return sns_lambda_event(message)["Records"][0]


def sqs_record(body: str) -> dict:
    return sqs_batch(body)["Records"][0]


@pytest.mark.parametrize(
    ("records", "why"),
    [
        # S3 records with an SQS record: not an SQS batch, and the SQS record is no S3 record.
        (lambda: [s3_put("a.gz")["Records"][0], sqs_record(json.dumps(s3_put("b.gz")))],
         "unrecognised Lambda event: Records[1]: eventSource is 'aws:sqs', expected 'aws:s3'"),
        # An SNS record among S3 records: not an SNS invocation either.
        (lambda: [s3_put("a.gz")["Records"][0], sns_record(json.dumps(s3_put("b.gz")))],
         "unrecognised Lambda event: Records[1]: eventSource is None, expected 'aws:s3'"),
        (lambda: [sqs_record(json.dumps(s3_put("a.gz"))), sns_record(json.dumps(s3_put("b.gz")))],
         "unrecognised Lambda event: Records[0]: eventSource is 'aws:sqs', expected 'aws:s3'; "
         "Records[1]: eventSource is None, expected 'aws:s3'"),
    ],
    ids=["s3-and-sqs", "s3-and-sns", "sqs-and-sns"],
)
def test_a_records_array_mixing_sources_is_refused_record_by_record(records, why):
    event = {"Records": records()}
    assert not is_sqs_batch(event)
    with pytest.raises(ValueError) as refused:
        parse_event(event)
    assert str(refused.value) == why


def test_a_record_carrying_an_sns_section_without_the_sns_event_source_is_not_unwrapped():
    record = sns_record(json.dumps(s3_put("a.gz")))
    record["EventSource"] = "aws:sqs"
    with pytest.raises(ValueError, match=r"^unrecognised Lambda event: Records\[0\]: eventSource is None"):
        parse_event({"Records": [record]})


def test_sqs_body_with_a_message_but_no_sns_notification_type_is_not_unwrapped():
    body = json.dumps({"Message": json.dumps(s3_put("a.gz"))})
    [message] = parse_event(sqs_batch(body))
    assert message.objects == []
    assert message.error == (
        "SQS message msg-0: not an S3 event notification (Records), s3:TestEvent, SNS notification or "
        "EventBridge aws.s3 event; top-level keys: Message")


def test_sqs_body_of_type_notification_without_a_message_is_not_taken_for_an_sns_envelope():
    [message] = parse_event(sqs_batch(json.dumps({"Type": "Notification", "Subject": "x"})))
    assert message.error == (
        "SQS message msg-0: not an S3 event notification (Records), s3:TestEvent, SNS notification or "
        "EventBridge aws.s3 event; top-level keys: Subject, Type")


@pytest.mark.parametrize("message", [None, {"Records": []}, 42], ids=["null", "object", "number"])
def test_sns_envelope_whose_message_is_not_a_string_fails_that_message(message):
    envelope = fixture("sns_notification.json")
    envelope["Message"] = message
    [failed] = parse_event(sqs_batch(json.dumps(envelope)))
    assert failed.error == "SQS message msg-0: SNS notification has no Message string"


def test_sns_invoking_directly_without_a_message_string_raises_naming_the_sns_message():
    record = sns_record("unused")
    del record["Sns"]["Message"]
    with pytest.raises(ValueError) as refused:
        parse_event({"Records": [record]})
    assert str(refused.value) == (
        "unrecognised SNS message 95df01b4-ee98-5cb9-9903-4c221d41eb5e: SNS notification has no Message string")


@pytest.mark.parametrize("version", ["20.0", "1.0", "", "2x.1", "v2.1"])
def test_only_major_event_version_2_is_accepted(version):
    event = s3_put("x.log")
    event["Records"][0]["eventVersion"] = version
    with pytest.raises(ValueError) as refused:
        parse_event(event)
    assert str(refused.value) == f"unrecognised Lambda event: Records[0]: unsupported eventVersion {version!r} (expected 2.x)"


@pytest.mark.parametrize("version", ["2.0", "2.1", "2.2", "2.3", "2"])
def test_every_minor_version_of_event_version_2_is_accepted(version):
    event = s3_put("x.log")
    event["Records"][0]["eventVersion"] = version
    [message] = parse_event(event)
    assert [ref.key for ref in message.objects] == ["x.log"]


def test_a_record_without_an_event_version_is_refused_as_version_empty():
    event = s3_put("x.log")
    del event["Records"][0]["eventVersion"]
    with pytest.raises(ValueError) as refused:
        parse_event(event)
    assert str(refused.value) == "unrecognised Lambda event: Records[0]: unsupported eventVersion '' (expected 2.x)"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda r: r["s3"]["bucket"].update(name=""), "s3.bucket.name is missing or not a non-empty string"),
        (lambda r: r["s3"]["bucket"].update(name=42), "s3.bucket.name is missing or not a non-empty string"),
        (lambda r: r["s3"].update(bucket="mybucket"), "s3.bucket.name is missing or not a non-empty string"),
        (lambda r: r.update(s3="mybucket/x.log"), "s3.bucket.name is missing or not a non-empty string"),
        (lambda r: r["s3"]["object"].update(key=""), "s3.object.key is missing or not a non-empty string"),
        (lambda r: r["s3"]["object"].update(key=["x.log"]), "s3.object.key is missing or not a non-empty string"),
        (lambda r: r["s3"]["object"].update(size=True), "s3.object.size is True, expected a non-negative integer"),
        (lambda r: r["s3"]["object"].update(size=False), "s3.object.size is False, expected a non-negative integer"),
        (lambda r: r["s3"]["object"].update(size=-1), "s3.object.size is -1, expected a non-negative integer"),
        (lambda r: r["s3"]["object"].update(size="1024"), "s3.object.size is '1024', expected a non-negative integer"),
        (lambda r: r["s3"]["object"].update(size=1024.0), "s3.object.size is 1024.0, expected a non-negative integer"),
        (lambda r: r.update(eventSource="aws:dynamodb"), "eventSource is 'aws:dynamodb', expected 'aws:s3'"),
    ],
    ids=["empty-bucket", "numeric-bucket", "bucket-not-an-object", "s3-not-an-object", "empty-key", "key-in-a-list",
         "size-true", "size-false", "negative-size", "size-as-text", "size-as-float", "other-event-source"],
)
def test_a_malformed_s3_record_is_refused_naming_the_field_and_its_value(change, why):
    event = s3_put("x.log")
    change(event["Records"][0])
    with pytest.raises(ValueError) as refused:
        parse_event(event)
    assert str(refused.value) == f"unrecognised Lambda event: Records[0]: {why}"


def test_a_record_that_is_not_an_object_is_refused_naming_its_type():
    with pytest.raises(ValueError) as refused:
        parse_event({"Records": [s3_put("a.gz")["Records"][0], "a.gz"]})
    assert str(refused.value) == "unrecognised Lambda event: Records[1]: expected an object, got str"


def test_every_malformed_record_of_a_body_is_named_in_one_error():
    first, second = s3_put("a.gz"), s3_put("b.gz")
    del first["Records"][0]["s3"]["object"]["key"]
    second["Records"][0]["s3"]["object"]["size"] = -5
    [message] = parse_event(sqs_batch(json.dumps(with_records(first, s3_put("good.gz"), second))))
    assert message.error == ("SQS message msg-0: Records[0]: s3.object.key is missing or not a non-empty string; "
                             "Records[2]: s3.object.size is -5, expected a non-negative integer")
    assert [ref.key for ref in message.objects] == ["good.gz"]


@pytest.mark.parametrize("version_id", ["", None, 7], ids=["empty", "null", "number"])
def test_a_version_id_that_is_not_a_non_empty_string_is_no_version(version_id):
    event = s3_put("x.log")
    event["Records"][0]["s3"]["object"]["versionId"] = version_id
    [message] = parse_event(event)
    assert message.objects == [ObjectRef("mybucket", "x.log", 1024, None)]


@pytest.mark.parametrize("message_id", [42, None, {"id": "x"}], ids=["number", "null", "object"])
def test_an_sqs_message_id_that_is_not_a_string_is_no_message_id(message_id):
    event = sqs_batch(json.dumps(s3_put("a.gz")))
    event["Records"][0]["messageId"] = message_id
    [message] = parse_event(event)
    assert message.message_id is None
    assert [ref.key for ref in message.objects] == ["a.gz"]


def test_an_sqs_message_that_failed_names_its_message_id_even_when_not_a_string():
    event = sqs_batch("not json")
    event["Records"][0]["messageId"] = 42
    [message] = parse_event(event)
    assert message.message_id is None and message.error.startswith("SQS message 42: body is not JSON")


@pytest.mark.parametrize(("body", "kind"), [(None, "NoneType"), ({"Records": []}, "dict"), (3, "int")])
def test_an_sqs_body_that_is_not_a_string_fails_naming_its_type(body, kind):
    event = sqs_batch("unused")
    event["Records"][0]["body"] = body
    [message] = parse_event(event)
    assert message.error == f"SQS message msg-0: body is {kind}, expected a JSON string"


@pytest.mark.parametrize("body", ['{"Records": []}', '{"Records": {"eventSource": "aws:s3"}}', '{"Records": null}'])
def test_an_sqs_body_whose_records_are_empty_or_not_a_list_fails(body):
    [message] = parse_event(sqs_batch(body))
    assert message.error == "SQS message msg-0: Records is empty or not a list"


def test_the_refusal_of_an_unknown_payload_lists_its_first_twelve_keys_in_order():
    payload = {f"k{n:02d}": n for n in range(14, 0, -1)}
    with pytest.raises(ValueError) as refused:
        parse_event(payload)
    assert str(refused.value) == (
        "unrecognised Lambda event: not an S3 event notification (Records), s3:TestEvent, SNS notification or "
        "EventBridge aws.s3 event; top-level keys: k01, k02, k03, k04, k05, k06, k07, k08, k09, k10, k11, k12")


def test_the_refusal_of_an_empty_payload_says_it_has_no_keys():
    [message] = parse_event(sqs_batch("{}"))
    assert message.error.endswith("; top-level keys: none")


@pytest.mark.parametrize("event", [[], None, "s3://bucket/key", 42], ids=["list", "null", "string", "number"])
def test_an_event_that_is_not_an_object_is_refused_naming_its_type(event):
    assert not is_sqs_batch(event)
    with pytest.raises(ValueError) as refused:
        parse_event(event)
    assert str(refused.value) == f"unrecognised Lambda event: expected a JSON object, got {type(event).__name__}"


@pytest.mark.parametrize(
    "event",
    [{"source": "aws.ec2", "detail-type": "Object Created"}, {"source": "aws.s3", "detail": {}}],
    ids=["other-source", "no-detail-type"],
)
def test_only_an_aws_s3_event_with_a_detail_type_is_taken_for_eventbridge(event):
    with pytest.raises(ValueError) as refused:
        parse_event(event)
    assert "not an S3 event notification" in str(refused.value)
    assert str(refused.value).endswith("top-level keys: " + ", ".join(sorted(event)))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d["bucket"].update(name=""), "detail.bucket.name is missing or not a non-empty string"),
        (lambda d: d.pop("bucket"), "detail.bucket.name is missing or not a non-empty string"),
        (lambda d: d["object"].update(key=None), "detail.object.key is missing or not a non-empty string"),
        (lambda d: d["object"].update(size=-3), "detail.object.size is -3, expected a non-negative integer"),
        (lambda d: d["object"].update(size=True), "detail.object.size is True, expected a non-negative integer"),
    ],
    ids=["empty-bucket", "no-bucket", "null-key", "negative-size", "size-true"],
)
def test_a_malformed_eventbridge_event_is_refused_naming_the_field(change, why):
    event = fixture("eventbridge_object_created.json")
    change(event["detail"])
    with pytest.raises(ValueError) as refused:
        parse_event(event)
    assert str(refused.value) == f"unrecognised Lambda event: {why}"


def test_an_eventbridge_event_without_a_detail_object_is_refused():
    event = fixture("eventbridge_object_created.json")
    event["detail"] = ["bucket"]
    with pytest.raises(ValueError, match=r"^unrecognised Lambda event: detail\.bucket\.name is missing"):
        parse_event(event)


def test_an_eventbridge_version_id_is_read_from_version_dash_id():
    event = fixture("eventbridge_object_created.json")
    event["detail"]["object"]["version-id"] = ""
    [message] = parse_event(event)
    assert message.objects[0].version_id is None
