;; The seeds' first module: numbers in, numbers out.
;; caplet invoke examples/add/add.wat --invoke add 2 2   prints 4
(module
  (func (export "helloWorld") (result i32)
    (i32.const 42))
  (func (export "add") (param $lhs i32) (param $rhs i32) (result i32)
    (i32.add (local.get $lhs) (local.get $rhs))))
