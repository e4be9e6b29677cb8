from mpmath import mp, mpf, sqrt, log, findroot
import struct
mp.dps = 60
def d(x): return mpf(float(x))
xk=-4.989999998875443; xk1=4.979993285533809; yk=-4.989997779264632; yk1=-4.972929415535312
d0=0.0010047345949779874; d1=16.943122026385836
w = xk1-xk; h = yk1-yk; s = h/w   # double arithmetic, as the kernel
W,H,S,D0,D1,XK,YK = map(d,(w,h,s,d0,d1,xk,yk))
def F(x):
    xi=(x-XK)/W; t=xi*(1-xi)
    return YK + H*(S*xi*xi + D0*t)/(S+(D0+D1-2*S)*t)
def dF(x):
    xi=(x-XK)/W; t=xi*(1-xi); p=D1*xi*xi+2*S*t+D0*(1-xi)**2
    return S*S*p/(S+(D0+D1-2*S)*t)**2
def Finv(y):
    # exact quadratic root in high precision
    delta=y-YK; c=D0+D1-2*S
    a=H*(S-D0)+delta*c; b=H*D0-delta*c; cc=-S*delta
    return XK + W*(2*cc/(-b-sqrt(b*b-4*a*cc)))
z=-1.423865706948131
y_exact=F(d(z))
print("exact F(z)      ", mp.nstr(y_exact,25), " computed -4.9899958072905  error", mp.nstr(d(-4.9899958072905)-y_exact,5), " ulp(y) = ", 2**-50)
print("F'(z)           ", mp.nstr(dF(d(z)),10), " log", mp.nstr(log(dF(d(z))),17))
for y, comp in [(-4.9899958072905,-1.4238657065917182), (-4.989995807290503,-1.423865715065363)]:
    xe=Finv(d(y))
    print(f"exact Finv({y!r}) =", mp.nstr(xe,25), " computed", comp, " error", mp.nstr(d(comp)-xe,5), " error/ (ulp(y)*dx/dy) =", mp.nstr((d(comp)-xe)/(mpf(2)**-50/dF(xe)),5))
    # check the root
    print("   residual F(xe)-y", mp.nstr(F(xe)-d(y),5))
# sensitivity: one ulp in y
print("dx per ulp of y:", mp.nstr(mpf(2)**-50/dF(d(z)),6))
print("Delta = y - yk", mp.nstr(d(-4.9899958072905)-YK,10), "xi", mp.nstr((d(z)-XK)/W,10))
