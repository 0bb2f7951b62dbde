"""A prefetch hint for compiled kernels that visit customers scattered over memory.

A step reaches a few thousand customers spread over the population (those
screened, deciding, travelling); each visit waits for memory. Asking for the
row of the customer a few places ahead while working on this one lets those
waits overlap (``llvm.prefetch``, a hint: it never changes a result).
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

AHEAD = 8
"""How many customers ahead kernels prefetch."""


@intrinsic
def prefetch(typingctx, array, index):
    """Hint that ``array[index]`` (1-d) will soon be read and written."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and isinstance(index, types.Integer)):
        return None
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        view = context.make_array(array_type)(context, builder, args[0])
        index = context.cast(builder, args[1], index_type, types.intp)
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [index], wraparound=False, boundscheck=False)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]), "llvm.prefetch.p0")
        # write access, keep in all cache levels, data cache
        builder.call(hint, [builder.bitcast(pointer, byte_pointer), ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen
