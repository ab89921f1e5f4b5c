/* A program that embeds the packaged libpython (tests/test_package_tree_e2e.py). */
#include <Python.h>
/* Refers to libpython's data directly (Py_None, PyFloat_Type): the linker gives this program
   copy relocations, and libpython has to use those copies too. */
int main(void)
{
    Py_Initialize();
    PyObject *globals = PyDict_New();
    PyObject *none = PyRun_String("None", Py_eval_input, globals, globals);
    PyObject *number = PyRun_String("1.5", Py_eval_input, globals, globals);
    int same = none == Py_None && Py_IS_TYPE(number, &PyFloat_Type);
    puts(same ? "one Py_None, one PyFloat_Type" : "two copies");
    Py_Finalize();
    return same ? 0 : 1;
}
