/** The qvsim version written into every trace header. */
export const VERSION = "0.1.0"
