# The raw_exec plugin's config block, as it appears inside
# `plugin "raw_exec" { config { ... } }` in an agent config.
enabled = true
