# eve-to-ecs.jq -- an ingest step for loophole's EVE alerts (--alerts-format
# eve): checks the fields an EVE alert pipeline relies on and maps each
# event to an Elastic Common Schema document, the way SIEM ingest pipelines
# for Suricata's eve.json do. An event that lacks a field or has it with
# the wrong type stops the run with an error naming it.
#
#   jq -c -f eve-to-ecs.jq eve.jsonl > ecs.jsonl
#
# Needs jq 1.6 (Debian 12).

def need($path; $type):
  (getpath($path)) as $v
  | if ($v | type) == $type then $v
    else error("\($path | map(tostring) | join(".")): expected \($type), got \($v | type)") end;

def need_int($path):
  need($path; "number") as $v
  | if ($v | floor) == $v then $v else error("\($path | join(".")): not an integer") end;

select(.event_type == "alert")
| {
    "@timestamp": need(["timestamp"]; "string"),
    "event": {
      "kind": "alert",
      "category": ["network", "intrusion_detection"],
      "type": ["info"],
      "module": "loophole",
      "dataset": "loophole.alert",
      "severity": need_int(["alert", "severity"]),
      "risk_score": need_int(["loophole", "score"]),
      "id": need(["loophole", "id"]; "string")
    },
    "observer": { "name": need(["host"]; "string"), "type": "ids", "product": "loophole" },
    "rule": {
      "id": (need_int(["alert", "signature_id"]) | tostring),
      "name": need(["loophole", "rule"]; "string"),
      "description": need(["alert", "signature"]; "string"),
      "category": need(["alert", "category"]; "string"),
      "version": (need_int(["alert", "rev"]) | tostring)
    },
    "source": { "ip": need(["src_ip"]; "string"), "port": need_int(["src_port"]) },
    "destination": { "ip": need(["dest_ip"]; "string"), "port": need_int(["dest_port"]) },
    "network": {
      "transport": (need(["proto"]; "string") | ascii_downcase),
      "community_id": need(["community_id"]; "string"),
      "protocol": (.app_proto // null)
    },
    "message": need(["loophole", "summary"]; "string"),
    "suricata": { "eve": {
      "flow_id": need_int(["flow_id"]),
      "alert": { "action": need(["alert", "action"]; "string"), "gid": need_int(["alert", "gid"]),
                 "signature_id": need_int(["alert", "signature_id"]) } } },
    "loophole": {
      "entity": need(["loophole", "entity"]; "object"),
      "gpu_host": (.loophole.gpu_host // null),
      "intermediary": (.loophole.intermediary // null),
      "evidence": need(["loophole", "evidence"]; "array"),
      "severity": need(["loophole", "severity"]; "string")
    }
  }
