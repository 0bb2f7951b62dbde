"""A prefetch hint for compiled kernels that visit customers scattered over memory.

A step reaches a few thousand customers spread over the population (those
screened, deciding, travelling); each visit waits for memory. Asking for the
row of the customer a few places ahead while working on this one lets those
waits overlap (``llvm.prefetch``, a hint: it never changes a result).

It is written as a numba intrinsic, emitting the instructions in place: a
compiled helper function taking the arrays would reference-count them on every
call, which costs more than the prefetch saves. numba's on-disk cache does not
notice a change to this file in the kernels that use it: after editing it,
delete the ``__pycache__`` folders in ``cxsim/`` (a fresh checkout has none). numba and llvmlite
are imported when the kernels are first needed (:mod:`cxsim.state.kernels`).
"""

from .kernels import intrinsic

AHEAD = 8
"""How many customers ahead kernels prefetch."""


@intrinsic
def prefetch_ahead(typingctx, ids, j, first, last):
    """At position ``j`` of ``ids``, prefetch ``first[i]`` and ``last[i]`` for the customer ``i`` :data:`AHEAD` places on.

    Two entries: the ends of the span of a customer's row that a kernel reads,
    or entries in two arrays. All arrays 1-d; nothing happens near the end of ``ids``.
    """
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils

    arrays = (ids, first, last)
    if not (all(isinstance(a, types.Array) and a.ndim == 1 for a in arrays)
            and isinstance(ids.dtype, types.Integer) and isinstance(j, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        ids_type, j_type, first_type, last_type = signature.args
        positions = context.make_array(ids_type)(context, builder, args[0])
        ahead = builder.add(context.cast(builder, args[1], j_type, types.intp), ir.Constant(ir.IntType(64), AHEAD))
        length = builder.extract_value(positions.shape, 0)
        with builder.if_then(builder.icmp_signed("<", ahead, length), likely=True):
            at = cgutils.get_item_pointer(context, builder, ids_type, positions, [ahead], wraparound=False, boundscheck=False)
            customer = context.cast(builder, builder.load(at), ids_type.dtype, types.intp)
            for array_type, value in ((first_type, args[2]), (last_type, args[3])):
                _prefetch(context, builder, array_type, value, customer)
        return context.get_dummy_value()

    return types.void(ids, j, first, last), codegen


def _prefetch(context, builder, array_type, value, index) -> None:
    from llvmlite import ir
    from numba.core import cgutils

    view = context.make_array(array_type)(context, builder, value)
    pointer = cgutils.get_item_pointer(context, builder, array_type, view, [index], wraparound=False, boundscheck=False)
    byte_pointer = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    hint = builder.module.declare_intrinsic(  # names it for this LLVM's pointer types
        "llvm.prefetch", [byte_pointer], ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]))
    # write access, keep in all cache levels, data cache
    builder.call(hint, [builder.bitcast(pointer, byte_pointer), ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)])
