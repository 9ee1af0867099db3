//! `JobDiff` (`nomad/structs/diff.go`): what `job plan -diff` shows. `Type` is
//! `Added`, `Deleted`, `Edited` or `None` at every level.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::null_default;

/// The diff of a job against its current version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<FieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ObjectDiff>,
    #[serde(deserialize_with = "null_default")]
    pub task_groups: Vec<TaskGroupDiff>,
}

/// `TaskGroupDiff`; `Updates` counts the plan's changes by kind (`create`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroupDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<FieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ObjectDiff>,
    #[serde(deserialize_with = "null_default")]
    pub tasks: Vec<TaskDiff>,
    #[serde(deserialize_with = "null_default")]
    pub updates: BTreeMap<String, u64>,
}

/// `TaskDiff`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<FieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ObjectDiff>,
    #[serde(deserialize_with = "null_default")]
    pub annotations: Vec<String>,
}

/// `FieldDiff`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FieldDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    pub old: String,
    pub new: String,
    #[serde(deserialize_with = "null_default")]
    pub annotations: Vec<String>,
}

/// `ObjectDiff`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ObjectDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<FieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ObjectDiff>,
}
