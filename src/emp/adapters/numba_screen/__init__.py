"""A numba-compiled screening kernel (implements :class:`ScreeningKernelPort`).

The kernel compiles on first use, not at import, and numba caches it on disk next to this
package.
"""

from emp.adapters.numba_screen.kernel import NumbaScreeningKernel

__all__ = ["NumbaScreeningKernel"]
