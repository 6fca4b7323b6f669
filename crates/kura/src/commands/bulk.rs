//! `kura bulk update|delete`: the records a filter selects, changed or deleted through the same
//! operation as the API and the console (one transaction, one audit entry, all or none). A run
//! without `--expected-count` only says how many records the selection holds.

use crate::cli::{BulkCommand, BulkSelection};
use anyhow::Context as _;
use kura_domain::Actor;
use kura_server::AppState;
use kura_server::service::bulk::{self, Kind, Selection};
use kura_server::service::{collections, transfer};
use serde_json::{Map, Value};
use std::process::ExitCode;

pub async fn run(state: &AppState, actor: Actor, command: &BulkCommand) -> anyhow::Result<ExitCode> {
    let (given, set, kind) = match command {
        BulkCommand::Update { selection, set } => (selection, Some(parse_set(set)?), Kind::Update),
        BulkCommand::Delete { selection } => (selection, None, Kind::Delete),
    };
    let fail = |e: kura_server::error::AppError| anyhow::anyhow!("{}", e.problem().detail);
    let p = transfer::command_line_principal(state, actor, &given.tenant).await.map_err(fail)?;
    let at = collections::at(state, &p, &given.collection).await.map_err(fail)?;
    let selection = selection_of(given);
    let (tenant, who) = (p.tenant().id, p.actor().clone());
    let previewed = bulk::preview(state, &p, &at, &selection, kind).await;
    let preview = super::audited(state, tenant, &who, "kura bulk", previewed).await.map_err(fail)?;
    println!("The selection holds {} records in {}.", preview.total, given.collection);
    let Some(expected) = given.expected_count else {
        let verb = if kind == Kind::Delete { "delete" } else { "change" };
        println!("Nothing was changed. To {verb} them, run again with --expected-count {}.", preview.total);
        return Ok(ExitCode::SUCCESS);
    };
    let outcome = match &set {
        Some(set) => bulk::update(state, &p, &given.collection, &selection, set, expected).await,
        None => bulk::delete(state, &p, &given.collection, &selection, expected).await,
    };
    let outcome = super::audited(state, tenant, &who, "kura bulk", outcome).await.map_err(fail)?;
    let verb = if kind == Kind::Delete { "Deleted" } else { "Changed" };
    println!(
        "{verb} {} of {} records, in one operation (one entry in the tenant's operation log).",
        outcome.changed, outcome.matched
    );
    Ok(ExitCode::SUCCESS)
}

fn selection_of(given: &BulkSelection) -> Selection {
    Selection { filter: given.filter.clone(), q: given.q.clone() }
}

/// `FIELD=VALUE` pairs as the values to set: a number, `true`, `false` or a quoted string as
/// JSON, anything else as text, and an empty value as null (clears the field).
fn parse_set(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut set = Map::new();
    for pair in pairs {
        let (field, value) = pair
            .split_once('=')
            .with_context(|| format!("--set {pair:?}: expected FIELD=VALUE, e.g. plan=standard"))?;
        let value = match serde_json::from_str::<Value>(value) {
            _ if value.is_empty() => Value::Null,
            Ok(v @ (Value::Bool(_) | Value::Number(_) | Value::String(_))) => v,
            _ => Value::String(value.to_owned()),
        };
        set.insert(field.trim().to_owned(), value);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::parse_set;
    use serde_json::json;

    #[test]
    fn set_values_are_json_scalars_or_text() {
        let pairs = ["plan=standard", "points=120", "newsletter=true", "memo=\"42\"", "kana="].map(String::from);
        let set = parse_set(&pairs).unwrap();
        assert_eq!(
            serde_json::Value::Object(set),
            json!({"plan": "standard", "points": 120, "newsletter": true, "memo": "42", "kana": null})
        );
        assert!(parse_set(&["plan".to_owned()]).is_err());
    }
}
