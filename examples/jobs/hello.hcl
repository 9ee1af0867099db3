# A batch job that prints a greeting once, with the raw_exec driver (enabled in
# `drover agent -dev`). Run it with:
#
#   drover job run examples/jobs/hello.hcl
#
# then read its output with `drover alloc logs <alloc-id>`.
job "hello" {
  type = "batch"

  group "hello" {
    task "hello" {
      driver = "raw_exec"

      config {
        command = "/bin/echo"
        args    = ["hello from drover"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
