case x in a) ;; b) echo; esac
case y in
(esac) ;;
esac
